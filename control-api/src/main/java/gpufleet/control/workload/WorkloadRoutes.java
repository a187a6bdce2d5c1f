package gpufleet.control.workload;

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
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/** Tenants create, read and delete workloads; hosts long-poll what to run and report back. */
public final class WorkloadRoutes {
    static final int MAX_WAIT_SECONDS = 60;

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
        routes.get("/v1/tenants/{tenant}/workloads", ctx -> ctx.json(Map.of("items", store.list(tenant(ctx), cluster(ctx)))));
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
