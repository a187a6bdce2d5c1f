package gpufleet.control.edge;

import gpufleet.common.Names;
import gpufleet.common.api.RouteSpec;
import gpufleet.control.auth.Access;
import gpufleet.control.http.Bodies;
import gpufleet.control.http.Params;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.util.Map;
import java.util.Set;

/** Tenants publish, read and remove routes (one per LoadBalancer Service); operators list them all. */
public final class RouteRoutes {
    private final RouteStore store;
    private final Bodies bodies;

    public RouteRoutes(RouteStore store, Bodies bodies) {
        this.store = store;
        this.bodies = bodies;
    }

    public void install(RoutesConfig routes) {
        routes.put("/v1/tenants/{tenant}/routes/{serviceUid}", ctx ->
                ctx.json(store.put(tenant(ctx), ctx.pathParam("serviceUid"), bodies.read(ctx, RouteSpec.class), cluster(ctx))));
        routes.get("/v1/tenants/{tenant}/routes/{serviceUid}",
                ctx -> ctx.json(store.get(tenant(ctx), ctx.pathParam("serviceUid"), cluster(ctx))));
        routes.delete("/v1/tenants/{tenant}/routes/{serviceUid}", ctx -> {
            store.delete(tenant(ctx), ctx.pathParam("serviceUid"), cluster(ctx));
            ctx.status(204);
        });
        routes.get("/v1/tenants/{tenant}/routes", ctx -> ctx.json(Map.of("items", store.list(tenant(ctx), cluster(ctx)))));
        routes.get("/v1/routes", ctx -> {
            Access.operator(ctx);
            ctx.json(Map.of("items", store.list(null, null)));
        });
    }

    /**
     * {@code ?cluster=}: the one of the tenant's clusters whose routes the caller means (its
     * tenant-agent's), as for workloads; absent, all of them (and a new route is the cluster
     * {@code default}'s).
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
}
