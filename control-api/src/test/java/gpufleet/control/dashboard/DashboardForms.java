package gpufleet.control.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The dashboard's forms spoken as plain HTTP, the way a browser sends them, with every header a
 * test needs under its own control (Origin, Sec-Fetch-Site, X-Forwarded-Proto, cookies).
 * Redirects are not followed, so each answer is seen as sent.
 */
final class DashboardForms {
    private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
            .followRedirects(HttpClient.Redirect.NEVER).build();
    private static final Pattern FORM_TOKEN = Pattern.compile("name=\"csrf\" value=\"([^\"]*)\"");

    /** A browser's view of one sign-in: the session cookie and the token its pages carry. */
    record Session(String cookie, String formToken) {}

    private final String base;

    DashboardForms(int port) {
        this.base = "http://127.0.0.1:" + port;
    }

    HttpResponse<String> get(String path, Map<String, String> headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30)).GET();
        headers.forEach(b::header);
        return send(b.build());
    }

    HttpResponse<String> post(String path, Map<String, String> form, Map<String, String> headers) {
        String body = form.entrySet().stream()
                .map(e -> URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8) + "=" + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
                .collect(Collectors.joining("&"));
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        headers.forEach(b::header);
        return send(b.build());
    }

    /** Opens the login page and signs in through its form, as the operator's browser does. */
    Session signIn(String operatorToken) {
        HttpResponse<String> page = get("/dashboard/login", Map.of());
        String loginCookie = cookie(page, Csrf.LOGIN_COOKIE);
        HttpResponse<String> in = post("/dashboard/login", Map.of("csrf", formToken(page), "token", operatorToken),
                Map.of("Cookie", Csrf.LOGIN_COOKIE + "=" + loginCookie, "Origin", base, "Sec-Fetch-Site", "same-origin"));
        assertThat(in.statusCode()).as("sign-in: " + in.body()).isEqualTo(303);
        String session = cookie(in, Sessions.COOKIE);
        HttpResponse<String> fleet = get("/dashboard", Map.of("Cookie", Sessions.COOKIE + "=" + session));
        assertThat(fleet.statusCode()).as("the fleet page after sign-in").isEqualTo(200);
        return new Session(session, formToken(fleet));
    }

    /** True while the session cookie still opens the dashboard's data. */
    boolean live(Session s) {
        return get("/dashboard/data/fleet", Map.of("Cookie", Sessions.COOKIE + "=" + s.cookie())).statusCode() == 200;
    }

    static String formToken(HttpResponse<String> page) {
        Matcher m = FORM_TOKEN.matcher(page.body());
        assertThat(m.find()).as("a CSRF field on the page: " + page.body()).isTrue();
        return m.group(1);
    }

    /** The value of the cookie {@code name} that the answer sets. */
    static String cookie(HttpResponse<String> r, String name) {
        return setCookies(r).get(name);
    }

    /** Every Set-Cookie of the answer, by name, with its attributes as sent. */
    static Map<String, String> setCookieLines(HttpResponse<String> r) {
        Map<String, String> lines = new LinkedHashMap<>();
        r.headers().allValues("Set-Cookie").forEach(l -> lines.put(l.substring(0, l.indexOf('=')), l));
        return lines;
    }

    private static Map<String, String> setCookies(HttpResponse<String> r) {
        Map<String, String> values = new LinkedHashMap<>();
        setCookieLines(r).forEach((name, line) -> {
            String rest = line.substring(name.length() + 1);
            values.put(name, rest.contains(";") ? rest.substring(0, rest.indexOf(';')) : rest);
        });
        return values;
    }

    private static HttpResponse<String> send(HttpRequest request) {
        try {
            return CLIENT.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new IllegalStateException(request.method() + " " + request.uri() + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
