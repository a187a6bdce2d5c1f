package gpufleet.control.fleet;

import gpufleet.control.auth.Access;
import gpufleet.control.fleet.FleetQueries.GpuFilter;
import gpufleet.control.http.Params;
import gpufleet.control.inventory.HostStore;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/** The operator's view of hosts and GPUs, and cordon/uncordon. */
public final class FleetRoutes {
    private static final Set<String> HOST_STATES = Set.of("ready", "cordoned", "not-ready", "lost");
    private static final Set<String> GPU_STATES = Set.of("free", "allocated", "unhealthy");

    private final FleetQueries queries;
    private final FleetSnapshot snapshot;
    private final HostStore hosts;

    public FleetRoutes(FleetQueries queries, FleetSnapshot snapshot, HostStore hosts) {
        this.queries = queries;
        this.snapshot = snapshot;
        this.hosts = hosts;
    }

    public void install(RoutesConfig routes) {
        routes.get("/v1/hosts", this::listHosts);
        routes.get("/v1/hosts/{host}", this::getHost);
        routes.post("/v1/hosts/{host}/cordon", ctx -> cordon(ctx, true));
        routes.post("/v1/hosts/{host}/uncordon", ctx -> cordon(ctx, false));
        routes.get("/v1/gpus", this::listGpus);
        routes.get("/v1/fleet/summary", this::summary);
    }

    private void listHosts(Context ctx) {
        Access.operator(ctx);
        Params.only(ctx, Set.of("state", "limit", "continue"));
        ctx.json(queries.hosts(Params.oneOf(ctx, "state", HOST_STATES), ctx.queryParam("continue"),
                Params.limit(ctx, 500, 5000)));
    }

    private void getHost(Context ctx) {
        Access.operator(ctx);
        UUID id = hosts.resolve(ctx.pathParam("host"));
        ctx.json(new Views.HostDetail(queries.host(id),
                queries.gpus(new GpuFilter(null, id, null, null), null, 1000).items()));
    }

    private void cordon(Context ctx, boolean cordoned) {
        Access.operator(ctx);
        UUID id = hosts.resolve(ctx.pathParam("host"));
        boolean changed = hosts.setCordoned(id, cordoned);
        ctx.json(Map.of("host", queries.host(id), "changed", changed));
    }

    private void listGpus(Context ctx) {
        Access.operator(ctx);
        Params.only(ctx, Set.of("model", "host", "state", "tenant", "limit", "continue"));
        String host = ctx.queryParam("host");
        GpuFilter filter = new GpuFilter(ctx.queryParam("model"), host == null ? null : hosts.resolve(host),
                Params.oneOf(ctx, "state", GPU_STATES), ctx.queryParam("tenant"));
        ctx.json(queries.gpus(filter, ctx.queryParam("continue"), Params.limit(ctx, 500, 5000)));
    }

    private void summary(Context ctx) {
        Access.operator(ctx);
        Params.only(ctx, Set.of());
        ctx.json(snapshot.summary());
    }
}
