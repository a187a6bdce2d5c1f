package gpufleet.control.dashboard;

import gpufleet.control.auth.Principal;
import gpufleet.control.auth.Role;
import gpufleet.control.auth.TokenSecrets;
import gpufleet.control.auth.TokenStore;
import gpufleet.control.db.Database;
import gpufleet.control.http.ApiException;
import gpufleet.control.http.ErrorKind;
import gpufleet.control.http.SecurityHeaders;
import io.javalin.http.Context;
import io.javalin.http.Cookie;
import io.javalin.http.SameSite;
import java.security.SecureRandom;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.Base64;

/**
 * Dashboard sessions: an operator signs in once with an operator token and the browser holds a
 * random session secret in an HttpOnly, SameSite=Strict cookie. Sessions are kept in PostgreSQL
 * (hashed, as tokens are), so any replica accepts them and revoking the operator token ends them.
 */
final class Sessions {
    static final String COOKIE = "gf_dashboard";
    static final Duration LIFETIME = Duration.ofHours(12);
    private static final String PATH = "/dashboard";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Database db;
    private final TokenStore tokens;

    Sessions(Database db, TokenStore tokens) {
        this.db = db;
        this.tokens = tokens;
    }

    /** Signs in with an operator token and sets the session cookie; a 401/403 that says why otherwise. */
    void open(Context ctx, String operatorToken) {
        Principal p = tokens.authenticate(operatorToken == null ? null : operatorToken.trim());
        if (p.role() != Role.OPERATOR) {
            throw new ApiException(ErrorKind.FORBIDDEN, "the dashboard needs an operator token; this is a "
                    + p.role().wire() + " token");
        }
        byte[] random = new byte[32];
        RANDOM.nextBytes(random);
        String secret = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
        db.tx(c -> {
            try (PreparedStatement ps = c.prepareStatement("""
                    INSERT INTO dashboard_sessions (secret_hash, token_id, expires_at)
                    SELECT ?, t.id, least(now() + make_interval(secs => ?), coalesce(t.expires_at, 'infinity'))
                    FROM tokens t WHERE t.id = ?""")) {
                ps.setBytes(1, TokenSecrets.hash(secret));
                ps.setLong(2, LIFETIME.toSeconds());
                ps.setObject(3, p.tokenId());
                return ps.executeUpdate();
            }
        });
        ctx.cookie(cookie(ctx, secret, (int) LIFETIME.toSeconds()));
    }

    /** True when the request carries a live session whose operator token is still valid. */
    boolean valid(Context ctx) {
        String secret = ctx.cookie(COOKIE);
        if (secret == null || secret.isBlank()) {
            return false;
        }
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement("""
                    SELECT 1 FROM dashboard_sessions s JOIN tokens t ON t.id = s.token_id
                    WHERE s.secret_hash = ? AND s.expires_at > now() AND t.revoked_at IS NULL
                      AND (t.expires_at IS NULL OR t.expires_at > now())""")) {
                ps.setBytes(1, TokenSecrets.hash(secret));
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next();
                }
            }
        });
    }

    /** The session secret the request's cookie holds, or null: not checked against the database. */
    static String secret(Context ctx) {
        String secret = ctx.cookie(COOKIE);
        return secret == null || secret.isBlank() ? null : secret;
    }

    /** The token this session's forms must carry (see {@link Csrf}); null without a session cookie. */
    static String formToken(Context ctx) {
        String secret = secret(ctx);
        return secret == null ? null : Csrf.sessionToken(secret);
    }

    /** Ends the session the request carries, if any, and clears the cookie. */
    void close(Context ctx) {
        String secret = ctx.cookie(COOKIE);
        if (secret != null && !secret.isBlank()) {
            db.tx(c -> {
                try (PreparedStatement ps = c.prepareStatement("DELETE FROM dashboard_sessions WHERE secret_hash = ?")) {
                    ps.setBytes(1, TokenSecrets.hash(secret));
                    return ps.executeUpdate();
                }
            });
        }
        ctx.cookie(cookie(ctx, "", 0));
    }

    /** Secure whenever the browser reached us over HTTPS, directly or through the edge. */
    private static Cookie cookie(Context ctx, String value, int maxAgeSeconds) {
        return new Cookie(COOKIE, value, PATH, maxAgeSeconds, SecurityHeaders.overHttps(ctx), true, null, SameSite.STRICT);
    }
}
