package gpufleet.control.dashboard;

import gpufleet.control.http.ApiException;
import gpufleet.control.http.ErrorKind;
import gpufleet.control.http.SecurityHeaders;
import io.javalin.http.Context;
import io.javalin.http.Cookie;
import io.javalin.http.SameSite;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Set;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Cross-site request forgery: every state-changing request of the dashboard (its form POSTs) must
 * come from one of its own pages.
 *
 * <p>SameSite=Strict on the session cookie is not enough here: tenants' Services are published at
 * names under the edge's domain, and a page there can be the same <em>site</em> as the dashboard
 * (same registrable domain, or another port of the same host), so the browser sends the cookie
 * with that page's forms. Two checks close it:
 * <ul>
 *   <li>a synchronizer token bound to the session: an HMAC of the session secret (which only the
 *       HttpOnly cookie holds), written into each page's forms. Any replica computes it again from
 *       the cookie, so nothing more is stored, and it ends with the session;</li>
 *   <li>the browser's own word on where the form came from: {@code Sec-Fetch-Site} must be
 *       {@code same-origin} (or {@code none}: typed by the operator), and an {@code Origin} must be
 *       this server's.</li>
 * </ul>
 * Sign-in has no session yet: its form carries a random value that must equal a short-lived
 * cookie set with the page (double submit), plus the origin checks.
 */
final class Csrf {
    static final String FIELD = "csrf";
    static final String LOGIN_COOKIE = "gf_login";
    private static final String LOGIN_PATH = "/dashboard/login";
    private static final int LOGIN_MAX_AGE_SECONDS = 3600;
    private static final Set<String> OWN_PAGES = Set.of("same-origin", "none");
    private static final byte[] PURPOSE = "gpufleet dashboard form token v1".getBytes(StandardCharsets.UTF_8);
    private static final SecureRandom RANDOM = new SecureRandom();

    private Csrf() {}

    /** The token the session's forms carry: derived from its secret, so unknown to anyone without the cookie. */
    static String sessionToken(String sessionSecret) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(sessionSecret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            return Base64.getUrlEncoder().withoutPadding().encodeToString(mac.doFinal(PURPOSE));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every Java runtime", e);
        }
    }

    /** Refuses a form of the session that does not carry the session's token (403, nothing done). */
    static void checkSessionForm(Context ctx, String sessionSecret) {
        fromOwnPage(ctx);
        if (!same(ctx.formParam(FIELD), sessionToken(sessionSecret))) {
            throw new ApiException(ErrorKind.FORBIDDEN, "this form has no valid CSRF token for your dashboard session;"
                    + " nothing was changed. Reload the dashboard page and submit it from there");
        }
    }

    /** A fresh sign-in value: set as a cookie for the login path and returned for the page's form. */
    static String issueLoginToken(Context ctx) {
        byte[] random = new byte[24];
        RANDOM.nextBytes(random);
        String value = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
        ctx.cookie(new Cookie(LOGIN_COOKIE, value, LOGIN_PATH, LOGIN_MAX_AGE_SECONDS, SecurityHeaders.overHttps(ctx),
                true, null, SameSite.STRICT));
        return value;
    }

    /** Refuses a sign-in whose form value does not match its cookie, or that came from another page. */
    static void checkLoginForm(Context ctx) {
        fromOwnPage(ctx);
        String cookie = ctx.cookie(LOGIN_COOKIE);
        if (cookie == null || cookie.isBlank() || !same(ctx.formParam(FIELD), cookie)) {
            throw new ApiException(ErrorKind.FORBIDDEN, "this sign-in form did not come from this dashboard or has"
                    + " expired; sign in from the page shown here");
        }
    }

    /**
     * What the browser says about the form's page. Programs other than browsers send neither
     * header; they still need the token.
     */
    private static void fromOwnPage(Context ctx) {
        String site = ctx.header("Sec-Fetch-Site");
        if (site != null && !OWN_PAGES.contains(site)) {
            throw new ApiException(ErrorKind.FORBIDDEN, "a form from another site (" + site
                    + ") cannot act on the dashboard; nothing was changed");
        }
        String origin = ctx.header("Origin");
        if (origin != null && !ownOrigin(ctx, origin)) {
            throw new ApiException(ErrorKind.FORBIDDEN, "a form from another origin cannot act on the dashboard;"
                    + " nothing was changed");
        }
    }

    /** The Origin names the host the request was sent to (as the browser or the edge in front saw it). */
    private static boolean ownOrigin(Context ctx, String origin) {
        String authority;
        try {
            authority = URI.create(origin).getRawAuthority();
        } catch (IllegalArgumentException e) {
            return false;
        }
        return authority != null
                && (authority.equalsIgnoreCase(ctx.header("Host")) || authority.equalsIgnoreCase(ctx.header("X-Forwarded-Host")));
    }

    private static boolean same(String given, String expected) {
        return given != null && MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), expected.getBytes(StandardCharsets.UTF_8));
    }
}
