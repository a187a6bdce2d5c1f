package gpufleet.control.workload;

import gpufleet.common.Json;
import gpufleet.common.Names;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.common.api.WorkloadStatusReport;
import gpufleet.control.auth.Access;
import gpufleet.control.http.ApiException;
import gpufleet.control.http.Bodies;
import gpufleet.control.http.Params;
import gpufleet.control.inventory.HostStore;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/** Tenants create, read and delete workloads; hosts long-poll what to run and report back. */
public final class WorkloadRoutes {
    static final int MAX_WAIT_SECONDS = 60;
    /** The workload list's ETag: 32 hex digits, quoted. */
    private static final Pattern TAG = Pattern.compile("\"[0-9a-f]{32}\"");

    private final WorkloadStore store;
    private final HostWorkloads hosts;
    private final Wakeups wakeups;
    private final Bodies bodies;
    private final HostEvictions evictions;

    public WorkloadRoutes(WorkloadStore store, HostWorkloads hosts, HostEvictions evictions, Wakeups wakeups, Bodies bodies) {
        this.store = store;
        this.hosts = hosts;
        this.wakeups = wakeups;
        this.bodies = bodies;
        this.evictions = evictions;
    }

    public void install(RoutesConfig routes) {
        routes.post("/v1/tenants/{tenant}/workloads", ctx -> {
            String tenant = tenant(ctx);
            WorkloadStore.Created r = store.create(tenant, bodies.read(ctx, WorkloadSpec.class));
            ctx.status(r.created() ? 201 : 200).json(r.workload());
        });
        routes.get("/v1/tenants/{tenant}/workloads", this::list);
        routes.get("/v1/tenants/{tenant}/workloads/{podUid}",
                ctx -> ctx.json(store.get(tenant(ctx), ctx.pathParam("podUid"), cluster(ctx))));
        routes.put("/v1/tenants/{tenant}/workloads/{podUid}/spec", ctx -> ctx.json(store.update(tenant(ctx), ctx.pathParam("podUid"),
                cluster(ctx), bodies.read(ctx, WorkloadSpec.class))));
        routes.delete("/v1/tenants/{tenant}/workloads/{podUid}", ctx -> {
            var v = store.delete(tenant(ctx), ctx.pathParam("podUid"), cluster(ctx));
            ctx.status(v.phase().equals("deleted") ? 200 : 202).json(v);
        });
        routes.get("/v1/hosts/{id}/workloads", this::desired);
        routes.put("/v1/hosts/{id}/workloads/{workload}/status", ctx -> {
            UUID host = hostId(ctx);
            Access.ownHost(ctx, host);
            UUID workload = HostStore.parseUuid(ctx.pathParam("workload"));
            if (workload == null) {
                throw ApiException.invalid("workload", "workload id '" + ctx.pathParam("workload") + "' is not a UUID");
            }
            ctx.json(hosts.report(host, workload, bodies.read(ctx, WorkloadStatusReport.class)));
        });
        routes.post("/v1/hosts/{id}/workloads/{workload}/eviction", ctx -> {
            UUID host = hostId(ctx);
            Access.ownHost(ctx, host);
            UUID workload = HostStore.parseUuid(ctx.pathParam("workload"));
            if (workload == null) {
                throw ApiException.invalid("workload", "workload id '" + ctx.pathParam("workload") + "' is not a UUID");
            }
            boolean now = evictions.evict(host, workload, bodies.read(ctx, gpufleet.common.api.WorkloadEviction.class));
            ctx.status(now ? 201 : 200).json(Map.of("evicted", now));
        });
    }

    /**
     * The tenant's workloads with an ETag; sent back in If-None-Match, an unchanged list is a 304
     * with no body, which spares an agent that asks every second parsing hundreds of workloads.
     * The tag digests the answer itself with whose it is, so a change committed at any moment, late
     * or not, shows in the next read (there is no cursor to race with commits), and a tag taken from
     * another tenant or cluster never matches.
     */
    private void list(Context ctx) throws IOException {
        String tenant = tenant(ctx);
        String cluster = cluster(ctx);
        String asked = ctx.header("If-None-Match");
        if (asked != null && !TAG.matcher(asked).matches()) {
            throw ApiException.invalid("If-None-Match", "If-None-Match must be the ETag of an earlier answer of this list"
                    + " (one quoted tag); got '" + (asked.length() > 80 ? asked.substring(0, 80) + "…" : asked) + "'");
        }
        byte[] body = Json.mapper().writeValueAsBytes(Map.of("items", store.list(tenant, cluster)));
        String tag = tag(tenant, cluster, body);
        ctx.header("ETag", tag);
        if (tag.equals(asked)) {
            // Javalin would also turn a matching ETag into a 304; the rule is stated here, not left to it.
            ctx.status(304);
            return;
        }
        ctx.contentType("application/json").result(body);
    }

    private static String tag(String tenant, String cluster, byte[] body) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            d.update((tenant + "\0" + cluster + "\0").getBytes(StandardCharsets.UTF_8));
            return "\"" + HexFormat.of().formatHex(d.digest(body), 0, 16) + "\"";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * {@code ?cluster=}: the one of the tenant's clusters whose workloads the caller means (its
     * tenant-agent's); absent, all of them. Not a wall between tenants (the token is the
     * tenant's): it keeps each cluster's agent off the others' workloads.
     */
    private static String cluster(Context ctx) {
        Params.only(ctx, Set.of("cluster"));
        String cluster = ctx.queryParam("cluster");
        return cluster == null ? null : Names.label(cluster, "cluster", 63);
    }

    private static String tenant(Context ctx) {
        String tenant = ctx.pathParam("tenant");
        Access.tenantOrOperator(ctx, tenant);
        return tenant;
    }

    /**
     * Long poll: with {@code ?version=N}, answers when the host's desired version differs from N or
     * after {@code waitSeconds} (default 30); without it, answers at once.
     */
    private void desired(Context ctx) {
        UUID host = hostId(ctx);
        Access.ownHost(ctx, host);
        Params.only(ctx, Set.of("version", "waitSeconds"));
        Long known = longParam(ctx, "version", 0, Long.MAX_VALUE);
        long wait = ctx.queryParam("waitSeconds") == null ? 30 : longParam(ctx, "waitSeconds", 0, MAX_WAIT_SECONDS);
        if (known == null || wait == 0) {
            ctx.json(hosts.desired(host));
            return;
        }
        // Register before reading, so a change between the read and the wait is not missed.
        var next = wakeups.next(host);
        if (hosts.version(host) != known) {
            next.complete(null);
        }
        ctx.future(() -> next.completeOnTimeout(null, wait, TimeUnit.SECONDS).thenApply(v -> ctx.json(hosts.desired(host))));
    }

    private static Long longParam(Context ctx, String name, long min, long max) {
        String raw = ctx.queryParam(name);
        if (raw == null) {
            return null;
        }
        try {
            long v = Long.parseLong(raw);
            if (v < min || v > max) {
                throw ApiException.invalid(name, name + " must be " + min + ".." + max + ", got " + v);
            }
            return v;
        } catch (NumberFormatException e) {
            throw ApiException.invalid(name, name + " '" + raw + "' is not a whole number");
        }
    }

    private static UUID hostId(Context ctx) {
        UUID id = HostStore.parseUuid(ctx.pathParam("id"));
        if (id == null) {
            throw ApiException.invalid("id", "host id '" + ctx.pathParam("id") + "' is not a UUID");
        }
        return id;
    }
}
