package gpufleet.control.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import gpufleet.control.dashboard.DashboardForms.Session;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Http;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;

/**
 * Forged forms against the dashboard: a form that did not come from the operator's own dashboard
 * page is refused with 403 and changes nothing, whatever cookies the browser attaches to it.
 */
class DashboardCsrfIT {
    static ApiFixture fx;
    static DashboardForms forms;
    static String own;

    @BeforeAll
    static void start() {
        fx = ApiFixture.start();
        forms = new DashboardForms(fx.api.port());
        own = "http://127.0.0.1:" + fx.api.port();
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    @Test
    void signingOutWithoutTheSessionsTokenIsRefusedAndTheSessionLives() {
        Session s = forms.signIn(ApiFixture.OPERATOR);
        Session other = forms.signIn(ApiFixture.OPERATOR);
        int sessions = sessionRows();
        String cookie = Sessions.COOKIE + "=" + s.cookie();
        Map<String, Map<String, String>> forged = Map.of(
                "no token", Map.of(),
                "a made-up token", Map.of("csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
                "another session's token", Map.of("csrf", other.formToken()));
        forged.forEach((what, form) -> {
            HttpResponse<String> r = forms.post("/dashboard/logout", form, Map.of("Cookie", cookie));
            assertThat(r.statusCode()).as("logout with " + what + ": " + r.body()).isEqualTo(403);
            assertThat(r.body()).as(what).contains("CSRF token").contains("nothing was changed");
        });
        assertThat(forms.live(s)).as("the session after three forged sign-outs").isTrue();
        assertThat(sessionRows()).isEqualTo(sessions);

        HttpResponse<String> real = forms.post("/dashboard/logout", Map.of("csrf", s.formToken()),
                Map.of("Cookie", cookie, "Origin", own, "Sec-Fetch-Site", "same-origin"));
        assertThat(real.statusCode()).as(real.body()).isEqualTo(303);
        assertThat(forms.live(s)).as("the session after signing out from its own page").isFalse();
        assertThat(forms.live(other)).as("the other session").isTrue();
    }

    @Test
    void aFormFromAnotherOriginIsRefusedEvenWithTheRightToken() {
        Session s = forms.signIn(ApiFixture.OPERATOR);
        String cookie = Sessions.COOKIE + "=" + s.cookie();
        Map<String, Map<String, String>> elsewhere = Map.of(
                "a sibling name's page", Map.of("Origin", "https://0a0a0a0a-0000-4000-8000-00000000000a-evil.fleet.localhost"),
                "another port of this host", Map.of("Origin", "http://127.0.0.1:1"),
                "an opaque origin", Map.of("Origin", "null"),
                "a same-site page, as the browser reports it", Map.of("Sec-Fetch-Site", "same-site"),
                "a cross-site page, as the browser reports it", Map.of("Sec-Fetch-Site", "cross-site"));
        elsewhere.forEach((what, headers) -> {
            Map<String, String> all = new java.util.HashMap<>(headers);
            all.put("Cookie", cookie);
            HttpResponse<String> r = forms.post("/dashboard/logout", Map.of("csrf", s.formToken()), all);
            assertThat(r.statusCode()).as("logout from " + what + ": " + r.body()).isEqualTo(403);
            assertThat(r.body()).as(what).contains("cannot act on the dashboard");
        });
        assertThat(forms.live(s)).as("the session after sign-outs from other origins").isTrue();
    }

    @Test
    void signingInNeedsTheLoginPagesOwnFormValue() {
        int sessions = sessionRows();
        HttpResponse<String> page = forms.get("/dashboard/login", Map.of());
        String loginCookie = DashboardForms.cookie(page, Csrf.LOGIN_COOKIE);
        assertThat(DashboardForms.setCookieLines(page).get(Csrf.LOGIN_COOKIE)).contains("HttpOnly").contains("SameSite=Strict");
        Map<String, String> withCookie = Map.of("Cookie", Csrf.LOGIN_COOKIE + "=" + loginCookie);
        HttpResponse<String> noValue = forms.post("/dashboard/login", Map.of("token", ApiFixture.OPERATOR), withCookie);
        HttpResponse<String> noCookie = forms.post("/dashboard/login",
                Map.of("token", ApiFixture.OPERATOR, "csrf", DashboardForms.formToken(page)), Map.of());
        HttpResponse<String> crossSite = forms.post("/dashboard/login",
                Map.of("token", ApiFixture.OPERATOR, "csrf", DashboardForms.formToken(page)),
                Map.of("Cookie", Csrf.LOGIN_COOKIE + "=" + loginCookie, "Sec-Fetch-Site", "cross-site"));
        for (HttpResponse<String> r : java.util.List.of(noValue, noCookie, crossSite)) {
            assertThat(r.statusCode()).as(r.body()).isEqualTo(403);
            assertThat(DashboardForms.setCookieLines(r)).as("no session cookie").doesNotContainKey(Sessions.COOKIE);
        }
        assertThat(noValue.body()).contains("this sign-in form did not come from this dashboard or has expired");
        assertThat(sessionRows()).as("sessions after refused sign-ins").isEqualTo(sessions);
    }

    @Test
    void everyAnswerForbidsFramingAndSniffingAndHttpsAnswersCarryHsts() {
        HttpResponse<String> plain = forms.get("/dashboard/login", Map.of());
        assertThat(plain.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
        assertThat(plain.headers().firstValue("Content-Security-Policy").orElseThrow()).contains("frame-ancestors 'none'");
        assertThat(plain.headers().firstValue("X-Frame-Options")).hasValue("DENY");
        assertThat(plain.headers().firstValue("Strict-Transport-Security")).as("over plain HTTP").isEmpty();

        HttpResponse<String> viaEdge = forms.get("/dashboard/login", Map.of("X-Forwarded-Proto", "https"));
        assertThat(viaEdge.headers().allValues("Strict-Transport-Security")).containsExactly("max-age=31536000");
        assertThat(DashboardForms.setCookieLines(viaEdge).get(Csrf.LOGIN_COOKIE)).contains("Secure");
        HttpResponse<String> api = forms.get("/v1/hosts", Map.of("X-Forwarded-Proto", "https"));
        assertThat(api.statusCode()).isEqualTo(401);
        assertThat(api.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
        assertThat(api.headers().allValues("Strict-Transport-Security")).containsExactly("max-age=31536000");
    }

    /**
     * The attack itself, in Chromium: the operator is signed in, then opens a page served from
     * another port of the same host. That page is the same site, so the browser sends the
     * SameSite=Strict cookie with its form; the form has no token and is refused.
     */
    @Test
    void aSameSitePageCannotSignTheOperatorOutInTheBrowser() throws IOException {
        HttpServer attacker = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        byte[] page = ("<!doctype html><form id=f method=post action=\"" + own + "/dashboard/logout\">"
                + "<input type=hidden name=csrf value=guess></form><script>document.getElementById('f').submit()</script>")
                .getBytes(StandardCharsets.UTF_8);
        attacker.createContext("/", x -> {
            x.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
            x.sendResponseHeaders(200, page.length);
            x.getResponseBody().write(page);
            x.close();
        });
        attacker.start();
        try (Browser browser = new Browser(fx.api.port())) {
            browser.signIn(ApiFixture.OPERATOR);
            assertThat(browser.path()).isEqualTo("/dashboard");
            browser.driver.get("http://127.0.0.1:" + attacker.getAddress().getPort() + "/");
            String answer = browser.await(30, "the forged sign-out's answer", d ->
                    d.getCurrentUrl().equals(own + "/dashboard/logout") ? d.findElement(By.tagName("body")).getText() : null);
            assertThat(answer).contains("cannot act on the dashboard");
            browser.open("/dashboard");
            assertThat(browser.path()).as("the operator is still signed in").isEqualTo("/dashboard");

            browser.submit(By.cssSelector("header form button"));
            assertThat(browser.path()).as("the dashboard's own sign-out form").isEqualTo("/dashboard/login");
        } finally {
            attacker.stop(0);
        }
    }

    private static int sessionRows() {
        try (Connection c = fx.database.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM dashboard_sessions")) {
            rs.next();
            return rs.getInt(1);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
