package gpufleet.control.http;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;

/**
 * Headers on every answer: no type sniffing, no framing by other sites, and HSTS when the request
 * came over HTTPS. Pages set a fuller Content-Security-Policy of their own.
 */
public final class SecurityHeaders {
    /** A year; without includeSubDomains, which would also bind names the operator may serve otherwise. */
    public static final String HSTS = "max-age=31536000";

    private SecurityHeaders() {}

    public static void install(RoutesConfig routes) {
        routes.before(ctx -> {
            ctx.header("X-Content-Type-Options", "nosniff");
            ctx.header("X-Frame-Options", "DENY");
            ctx.header("Content-Security-Policy", "frame-ancestors 'none'");
            if (overHttps(ctx)) {
                ctx.header("Strict-Transport-Security", HSTS);
            }
        });
    }

    /**
     * True when the client reached us over HTTPS, directly or through the edge (which says so in
     * X-Forwarded-Proto). A client that fakes the header over plain HTTP harms only itself: its
     * browser ignores HSTS sent over HTTP, and will not send a Secure cookie back over HTTP.
     */
    public static boolean overHttps(Context ctx) {
        return "https".equalsIgnoreCase(ctx.scheme()) || "https".equalsIgnoreCase(ctx.header("X-Forwarded-Proto"));
    }
}
