package gpufleet.control.dashboard;

import gpufleet.control.http.ApiException;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The dashboard's pages, scripts and stylesheet, read once from the jar (resources/dashboard/).
 * Everything the browser loads comes from here: the dashboard works with no Internet access.
 */
final class Assets {
    static final List<String> PAGES = List.of("fleet.html", "host.html", "tenants.html", "tenant.html", "login.html");
    static final List<String> FILES = List.of("dashboard.css", "common.js", "charts.js", "fleet.js", "host.js",
            "tenants.js", "tenant.js");
    private static final Map<String, String> TYPES = Map.of(
            "html", "text/html; charset=utf-8",
            "css", "text/css; charset=utf-8",
            "js", "text/javascript; charset=utf-8");
    /** Scripts and styles only from here; no inline script, no frames, no other origin. */
    private static final String POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
            + " connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

    private final Map<String, String> texts = new HashMap<>();

    Assets() {
        PAGES.forEach(this::load);
        FILES.forEach(this::load);
    }

    private void load(String name) {
        try (InputStream in = Assets.class.getResourceAsStream("/dashboard/" + name)) {
            if (in == null) {
                throw new IllegalStateException("dashboard asset " + name + " is missing from the jar");
            }
            texts.put(name, new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException("cannot read dashboard asset " + name, e);
        }
    }

    /**
     * Answers with a page; {@code error}, when not null, is shown on it (the login page has a slot),
     * and {@code formToken} goes into its forms' CSRF field.
     */
    void page(Context ctx, String name, String error, String formToken) {
        String html = texts.get(name).replace("{{error}}", error == null ? "" : escape(error))
                .replace("{{csrf}}", formToken == null ? "" : escape(formToken));
        headers(ctx, name).result(html);
    }

    /** Answers GET /dashboard/assets/{file}: a script or the stylesheet, 404 for anything else. */
    void file(Context ctx) {
        String name = ctx.pathParam("file");
        if (!FILES.contains(name)) {
            throw ApiException.notFound("dashboard asset " + name);
        }
        headers(ctx, name).result(texts.get(name));
    }

    private static Context headers(Context ctx, String name) {
        String extension = name.substring(name.lastIndexOf('.') + 1);
        // Pages carry a form token of the moment: never kept, so Back does not show a stale form.
        return ctx.contentType(TYPES.get(extension))
                .header("Cache-Control", extension.equals("html") ? "no-store" : "no-cache")
                .header("Content-Security-Policy", POLICY)
                .header("X-Content-Type-Options", "nosniff")
                .header("Referrer-Policy", "same-origin");
    }

    private static String escape(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;")
                .replace("'", "&#39;");
    }
}
