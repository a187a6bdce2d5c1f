package gpufleet.control.auth;

import gpufleet.common.api.TokenRequest;
import gpufleet.control.config.Durations;
import gpufleet.control.http.ApiException;
import gpufleet.control.http.Bodies;
import gpufleet.control.http.Params;
import gpufleet.control.inventory.HostStore;
import gpufleet.control.tenancy.TenantStore;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/** Issuing, listing and revoking tokens, and "who am I" for any caller. */
public final class TokenRoutes {
    // Short by default: a join token is meant for the provisioning run that issues it.
    static final Duration DEFAULT_JOIN_TTL = Duration.ofHours(1);
    static final Duration MAX_JOIN_TTL = Duration.ofDays(30);

    private final TokenStore tokens;
    private final TenantStore tenants;
    private final Bodies bodies;

    public TokenRoutes(TokenStore tokens, TenantStore tenants, Bodies bodies) {
        this.tokens = tokens;
        this.tenants = tenants;
        this.bodies = bodies;
    }

    public void install(RoutesConfig routes) {
        routes.get("/v1/whoami", ctx -> ctx.json(Access.principal(ctx)));
        routes.post("/v1/join-tokens", this::issueJoin);
        routes.get("/v1/join-tokens", ctx -> {
            Access.operator(ctx);
            ctx.json(Map.of("items", tokens.list(Role.JOIN, null)));
        });
        routes.post("/v1/operator-tokens", ctx -> {
            Access.operator(ctx);
            TokenRequest req = bodies.read(ctx, TokenRequest.class);
            noTtl(req);
            ctx.status(201).json(tokens.issue(Role.OPERATOR, null, null, req.description(), null));
        });
        routes.post("/v1/tenants/{tenant}/tokens", this::issueTenant);
        routes.get("/v1/tenants/{tenant}/tokens", ctx -> {
            Access.operator(ctx);
            tenants.tenant(ctx.pathParam("tenant"));
            ctx.json(Map.of("items", tokens.list(Role.TENANT, ctx.pathParam("tenant"))));
        });
        routes.get("/v1/tokens", ctx -> {
            Access.operator(ctx);
            String role = Params.oneOf(ctx, "role", Set.of("operator", "tenant", "host", "join"));
            ctx.json(Map.of("items", tokens.list(role == null ? null : Role.fromWire(role), null)));
        });
        routes.delete("/v1/tokens/{id}", ctx -> {
            Access.operator(ctx);
            UUID id = HostStore.parseUuid(ctx.pathParam("id"));
            if (id == null) {
                throw ApiException.invalid("id", "token id '" + ctx.pathParam("id") + "' is not a UUID");
            }
            ctx.json(tokens.revoke(id));
        });
    }

    private void issueJoin(Context ctx) {
        Access.operator(ctx);
        JoinTokenRequest req = bodies.read(ctx, JoinTokenRequest.class);
        Duration ttl = DEFAULT_JOIN_TTL;
        if (req.ttl() != null) {
            try {
                ttl = Durations.parse(req.ttl());
            } catch (IllegalArgumentException e) {
                throw ApiException.invalid("ttl", "ttl: " + e.getMessage());
            }
            if (ttl.compareTo(MAX_JOIN_TTL) > 0) {
                throw ApiException.invalid("ttl", "ttl " + req.ttl() + " is longer than the maximum of 30 days");
            }
        }
        TokenStore.JoinScope scope = new TokenStore.JoinScope(req.usesOrDefault(), req.hosts(), null, req.canonicalAddress());
        ctx.status(201).json(tokens.issueJoin(scope, req.description(), Instant.now().plus(ttl)));
    }

    private void issueTenant(Context ctx) {
        Access.operator(ctx);
        String tenant = ctx.pathParam("tenant");
        tenants.tenant(tenant);
        TokenRequest req = bodies.read(ctx, TokenRequest.class);
        noTtl(req);
        ctx.status(201).json(tokens.issue(Role.TENANT, tenant, null, req.description(), null));
    }

    private static void noTtl(TokenRequest req) {
        if (req.ttl() != null) {
            throw ApiException.invalid("ttl", "only join tokens expire; this token lives until it is revoked");
        }
    }
}
