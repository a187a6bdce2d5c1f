package gpufleet.control.stream;

import gpufleet.common.Json;
import gpufleet.common.api.StreamEndpoint;
import gpufleet.common.stream.Frames;
import gpufleet.common.stream.PodUsage;
import gpufleet.common.stream.StreamRequest;
import gpufleet.control.auth.Access;
import gpufleet.control.auth.Principal;
import gpufleet.control.http.ApiException;
import gpufleet.control.http.Bodies;
import gpufleet.control.http.Params;
import gpufleet.control.inventory.HostStore;
import gpufleet.control.quota.StreamQuota;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Streams for a tenant's pods, relayed to the host that runs them: logs over plain HTTP (chunked,
 * flushed per frame), exec/attach/port-forward over WebSocket ({@link WsRelay}), usage for the
 * kubelet's stats. Hosts tell where they serve streams with PUT /v1/hosts/{id}/streams.
 */
public final class StreamRoutes {
    private static final Logger log = LoggerFactory.getLogger(StreamRoutes.class);
    private static final Set<String> LOG_PARAMS = Set.of("container", "follow", "tailLines", "sinceSeconds", "sinceTime",
            "timestamps", "previous", "limitBytes");

    private final HostStreams streams;
    private final Bodies bodies;
    private final WsRelay relay;
    private final StreamSessions sessions;
    private final StreamQuota quota;

    public StreamRoutes(HostStreams streams, Bodies bodies, Access access, StreamQuota quota) {
        this.streams = streams;
        this.quota = quota;
        this.bodies = bodies;
        this.sessions = new StreamSessions(streams.database());
        this.relay = new WsRelay(streams, access, sessions, quota);
    }

    public void install(RoutesConfig routes) {
        routes.put("/v1/hosts/{id}/streams", this::hostStreams);
        routes.get("/v1/tenants/{tenant}/workloads/{podUid}/logs", this::logs);
        routes.get("/v1/tenants/{tenant}/stats", this::stats);
        relay.install(routes);
    }

    private void hostStreams(Context ctx) {
        UUID id = HostStore.parseUuid(ctx.pathParam("id"));
        if (id == null) {
            throw ApiException.invalid("id", "host id '" + ctx.pathParam("id") + "' is not a UUID");
        }
        Access.ownHost(ctx, id);
        streams.save(id, bodies.read(ctx, StreamEndpoint.class));
        ctx.status(204);
    }

    private void logs(Context ctx) throws IOException {
        String tenant = ctx.pathParam("tenant");
        Principal by = Access.tenantOrOperator(ctx, tenant);
        Params.only(ctx, LOG_PARAMS);
        String container = ctx.queryParam("container");
        if (container == null || container.isBlank()) {
            throw ApiException.invalid("container", "container is required");
        }
        String sinceTime = ctx.queryParam("sinceTime");
        if (sinceTime != null) {
            try {
                java.time.Instant.parse(sinceTime);
            } catch (java.time.format.DateTimeParseException e) {
                throw ApiException.invalid("sinceTime", "sinceTime '" + sinceTime + "' is not an RFC 3339 time");
            }
        }
        StreamRequest req = new StreamRequest(StreamRequest.LOGS, null, null, null, null, container, null, false, true, true,
                false, flag(ctx, "follow"), number(ctx, "tailLines"), number(ctx, "sinceSeconds"), sinceTime,
                flag(ctx, "timestamps"), flag(ctx, "previous"), number(ctx, "limitBytes"), null, null);
        StreamQuota.Permit permit = quota.acquire(tenant); // the tenant's concurrent-stream quota, given back below
        HostLink link;
        try {
            HostStreams.Target t = streams.target(tenant, ctx.pathParam("podUid"));
            link = HostLink.open(t, req);
        } catch (RuntimeException e) {
            permit.close();
            throw e;
        }
        // A revoked token or disabled tenant cuts the followed log: the response ends early.
        Object session = sessions.opened(by.tokenId(), tenant, why -> link.close());
        try (link) {
            WsRelay.keepOpen(ctx);
            ctx.status(200).contentType("text/plain; charset=utf-8");
            OutputStream out = ctx.res().getOutputStream();
            for (Frames.Frame f = link.next(); f != null && f.channel() != Frames.END; f = link.next()) {
                out.write(f.data());
                out.flush(); // Followed logs arrive line by line; the writes block while the reader is slow.
            }
        } finally {
            sessions.closed(session);
            permit.close();
        }
    }

    /** What this tenant's running pods use, read from their hosts now (hosts that do not answer are left out). */
    private void stats(Context ctx) {
        String tenant = ctx.pathParam("tenant");
        Access.tenantOrOperator(ctx, tenant);
        Params.only(ctx, Set.of());
        Map<String, List<HostStreams.Target>> byHost = streams.placed(tenant).stream()
                .collect(Collectors.groupingBy(HostStreams.Target::hostName, LinkedHashMap::new, Collectors.toList()));
        List<PodUsage> all = new ArrayList<>();
        for (List<HostStreams.Target> pods : byHost.values()) {
            List<String> ids = pods.stream().map(p -> p.workload().toString()).toList();
            HostStreams.Target first = pods.get(0);
            HostStreams.Target hostOnly = new HostStreams.Target(null, null, null, null, first.hostName(), first.address(), first.key(),
                    first.certificate());
            StreamRequest req = new StreamRequest(StreamRequest.STATS, null, null, null, null, null, null, false, false, false,
                    false, false, null, null, null, false, false, null, null, ids);
            try (HostLink link = HostLink.open(hostOnly, req)) {
                java.io.ByteArrayOutputStream json = new java.io.ByteArrayOutputStream();
                for (Frames.Frame f = link.next(); f != null && f.channel() != Frames.END; f = link.next()) {
                    json.write(f.data());
                }
                PodUsage[] usage = Json.mapper().readValue(json.toByteArray(), PodUsage[].class);
                Map<String, HostStreams.Target> byWorkload = pods.stream()
                        .collect(Collectors.toMap(p -> p.workload().toString(), p -> p));
                for (PodUsage u : usage) {
                    HostStreams.Target p = byWorkload.get(u.workload());
                    if (p != null) {
                        all.add(u.withPod(p.podUid(), p.namespace(), p.name()));
                    }
                }
            } catch (IOException | ApiException e) {
                log.warn("no usage from host {} for tenant {}: {}", first.hostName(), tenant, e.getMessage());
            }
        }
        ctx.json(all);
    }

    static boolean flag(Context ctx, String name) {
        String v = ctx.queryParam(name);
        if (v == null || v.equals("false") || v.equals("0")) {
            return false;
        }
        if (v.equals("true") || v.equals("1") || v.isEmpty()) {
            return true;
        }
        throw ApiException.invalid(name, name + " must be true or false; got '" + v + "'");
    }

    private static Long number(Context ctx, String name) {
        String v = ctx.queryParam(name);
        if (v == null) {
            return null;
        }
        try {
            long n = Long.parseLong(v);
            if (n < 0 || (n == 0 && name.equals("limitBytes"))) {
                throw ApiException.invalid(name, name + " must be " + (name.equals("limitBytes") ? "positive" : "0 or more")
                        + "; got " + n);
            }
            return n;
        } catch (NumberFormatException e) {
            throw ApiException.invalid(name, name + " '" + v + "' is not a whole number");
        }
    }
}
