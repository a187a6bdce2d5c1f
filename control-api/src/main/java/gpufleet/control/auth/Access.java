package gpufleet.control.auth;

import gpufleet.control.http.ApiException;
import gpufleet.control.http.ErrorKind;
import io.javalin.http.Context;
import java.util.UUID;

/**
 * Authentication for every /v1 request, and the checks handlers make on the caller. A host
 * token acts only for its host; a tenant token sees only its tenant; operators see everything.
 */
public final class Access {
    private static final String KEY = "gpufleet.principal";

    private final TokenStore tokens;

    public Access(TokenStore tokens) {
        this.tokens = tokens;
    }

    /** Before-handler: resolves the bearer token into a principal on the context. */
    public void authenticate(Context ctx) {
        String header = ctx.header("Authorization");
        String token = null;
        if (header != null) {
            if (!header.regionMatches(true, 0, "Bearer ", 0, 7)) {
                throw new ApiException(ErrorKind.UNAUTHORIZED, "Authorization header must be 'Bearer <token>'");
            }
            token = header.substring(7).trim();
        }
        ctx.attribute(KEY, tokens.authenticate(token));
    }

    public static Principal principal(Context ctx) {
        Principal p = ctx.attribute(KEY);
        if (p == null) {
            throw new ApiException(ErrorKind.UNAUTHORIZED, "not authenticated");
        }
        return p;
    }

    public static Principal operator(Context ctx) {
        return require(ctx, Role.OPERATOR);
    }

    public static Principal require(Context ctx, Role role) {
        Principal p = principal(ctx);
        if (p.role() != role) {
            throw new ApiException(ErrorKind.FORBIDDEN,
                    ctx.method() + " " + ctx.path() + " needs a " + role.wire() + " token; this is a " + p.role().wire() + " token");
        }
        return p;
    }

    /** Only the host's own token: a host credential acts for its host and no other. */
    public static Principal ownHost(Context ctx, UUID hostId) {
        Principal p = require(ctx, Role.HOST);
        if (!p.hostId().equals(hostId)) {
            throw new ApiException(ErrorKind.FORBIDDEN, "this host token belongs to host " + p.hostId() + ", not to host " + hostId);
        }
        return p;
    }

    /** That tenant's own token, or an operator. */
    public static Principal tenantOrOperator(Context ctx, String tenant) {
        Principal p = principal(ctx);
        if (p.role() == Role.OPERATOR) {
            return p;
        }
        if (p.role() != Role.TENANT) {
            throw new ApiException(ErrorKind.FORBIDDEN, "this endpoint needs a tenant token; this is a " + p.role().wire() + " token");
        }
        if (!p.tenant().equals(tenant)) {
            throw new ApiException(ErrorKind.FORBIDDEN, "this token belongs to tenant " + p.tenant() + " and cannot read tenant " + tenant);
        }
        return p;
    }
}
