package gpufleet.control.tenancy;

import gpufleet.common.api.Offering;
import gpufleet.common.api.TenantOfferings;
import gpufleet.common.api.TenantSpec;
import gpufleet.control.auth.Access;
import gpufleet.control.auth.TokenStore;
import gpufleet.control.http.Bodies;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.util.Map;

/** Operators manage tenants and offerings; a tenant reads its own offerings and node. */
public final class TenancyRoutes {
    private final TenantStore store;
    private final TokenStore tokens;
    private final Bodies bodies;

    public TenancyRoutes(TenantStore store, TokenStore tokens, Bodies bodies) {
        this.store = store;
        this.tokens = tokens;
        this.bodies = bodies;
    }

    public void install(RoutesConfig routes) {
        routes.post("/v1/tenants", this::createTenant);
        routes.get("/v1/tenants", ctx -> {
            Access.operator(ctx);
            ctx.json(Map.of("items", store.tenants()));
        });
        routes.get("/v1/tenants/{tenant}", ctx -> {
            Access.tenantOrOperator(ctx, ctx.pathParam("tenant"));
            ctx.json(store.tenant(ctx.pathParam("tenant")));
        });
        routes.post("/v1/tenants/{tenant}/disable", ctx -> {
            Access.operator(ctx);
            TenantStore.TenantView disabled = store.setDisabled(ctx.pathParam("tenant"), true);
            tokens.evictTenant(disabled.name());
            ctx.json(disabled);
        });
        routes.post("/v1/tenants/{tenant}/enable", ctx -> {
            Access.operator(ctx);
            ctx.json(store.setDisabled(ctx.pathParam("tenant"), false));
        });
        routes.put("/v1/tenants/{tenant}/limits", ctx -> {
            Access.operator(ctx);
            ctx.json(store.setLimits(ctx.pathParam("tenant"), bodies.read(ctx, LimitsSpec.class)));
        });
        routes.put("/v1/tenants/{tenant}/offerings", ctx -> {
            Access.operator(ctx);
            ctx.json(store.setOfferings(ctx.pathParam("tenant"), bodies.read(ctx, TenantOfferings.class).offerings()));
        });
        routes.get("/v1/tenants/{tenant}/offerings", ctx -> {
            Access.tenantOrOperator(ctx, ctx.pathParam("tenant"));
            ctx.json(Map.of("items", store.offerings(ctx.pathParam("tenant"))));
        });
        routes.get("/v1/tenants/{tenant}/node", ctx -> {
            Access.tenantOrOperator(ctx, ctx.pathParam("tenant"));
            // ?include=waiting: the tenant-agent's figures; without it, the answer older agents know.
            ctx.json(store.node(ctx.pathParam("tenant"), "waiting".equals(ctx.queryParam("include"))));
        });
        routes.post("/v1/offerings", ctx -> {
            Access.operator(ctx);
            ctx.status(201).json(store.createOffering(bodies.read(ctx, Offering.class)));
        });
        routes.get("/v1/offerings", ctx -> {
            Access.operator(ctx);
            ctx.json(Map.of("items", store.offerings(null)));
        });
        routes.delete("/v1/offerings/{name}", ctx -> {
            Access.operator(ctx);
            store.deleteOffering(ctx.pathParam("name"));
            ctx.status(204);
        });
    }

    private void createTenant(Context ctx) {
        Access.operator(ctx);
        ctx.status(201).json(store.create(bodies.read(ctx, TenantSpec.class)));
    }
}
