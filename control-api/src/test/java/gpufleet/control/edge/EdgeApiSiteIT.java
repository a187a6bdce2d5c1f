package gpufleet.control.edge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gpufleet.control.support.ApiFixture;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The control-api's own site on the real Caddy (GPUFLEET_EDGE_API_NAME): what the Internet sees
 * of the control-api through the edge. Metrics are not part of it, and browsers are told to use
 * HTTPS alone.
 */
class EdgeApiSiteIT {
    static final String NAME = "api.fleet.test";
    static ApiFixture fx;
    static int https;

    @BeforeAll
    static void start() throws IOException {
        https = freePort();
        int api = freePort();
        fx = ApiFixture.start(Map.of("GPUFLEET_LISTEN", "127.0.0.1:" + api,
                "GPUFLEET_EDGE_ADMIN_URL", EdgeIT.ADMIN, "GPUFLEET_EDGE_HTTPS_PORT", Integer.toString(https),
                "GPUFLEET_EDGE_DOMAIN", "fleet.test", "GPUFLEET_EDGE_SYNC_INTERVAL", "300ms",
                "GPUFLEET_EDGE_API_NAME", NAME, "GPUFLEET_EDGE_API_UPSTREAMS", "127.0.0.1:" + api));
        await().atMost(Duration.ofSeconds(60)).until(() -> curl("/healthz").startsWith("HTTP/2 200"));
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    @Test
    void metricsAreNotReachableThroughTheEdge() {
        String answer = curl("/metrics");
        assertThat(answer).as("GET https://" + NAME + "/metrics").startsWith("HTTP/2 404")
                .doesNotContain("http_server_requests").doesNotContain("hikaricp");
    }

    @Test
    void theDashboardThroughTheEdgeCarriesHstsOnceAndSecureCookies() {
        String answer = curl("/dashboard/login");
        assertThat(answer).startsWith("HTTP/2 200");
        List<String> hsts = answer.lines().filter(l -> l.toLowerCase().startsWith("strict-transport-security:")).toList();
        assertThat(hsts).as("HSTS headers in\n" + answer).containsExactly("strict-transport-security: max-age=31536000");
        assertThat(answer).containsIgnoringCase("x-content-type-options: nosniff")
                .containsIgnoringCase("x-frame-options: DENY");
        String loginCookie = answer.lines().filter(l -> l.toLowerCase().startsWith("set-cookie: gf_login=")).findFirst().orElseThrow();
        assertThat(loginCookie).as("the edge tells the control-api the request was HTTPS").contains("Secure");
    }

    /** {@code curl -ski -D-} through the edge: the status line, the headers and the body. */
    static String curl(String path) {
        try {
            Process p = new ProcessBuilder("curl", "-sk", "--max-time", "10", "-i", "--resolve", NAME + ":" + https + ":127.0.0.1",
                    "https://" + NAME + ":" + https + path).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor();
            return out.replace("\r", "");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
