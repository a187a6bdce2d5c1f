package gpufleet.control.ops;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Http;
import io.javalin.router.ParsedEndpoint;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Health, readiness, Prometheus metrics, and an OpenAPI document that matches the server. */
class OpsIT {
    static ApiFixture fx;
    /** The metrics listener, apart from the API's port. */
    static Http metrics;

    @BeforeAll
    static void start() {
        fx = ApiFixture.start();
        metrics = new Http(fx.api.metricsPort());
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    @Test
    void healthAndReadiness() {
        assertThat(fx.http.get("/healthz", null).status()).isEqualTo(200);
        Http.Response ready = fx.http.get("/readyz", null);
        assertThat(ready.status()).isEqualTo(200);
        assertThat(ready.json().get("status").asText()).isEqualTo("ready");
    }

    @Test
    void metricsShowRequestLatencyHistogramsAndPoolUsage() {
        fx.http.get("/v1/hosts", ApiFixture.OPERATOR);
        Http.Response m = metrics.get("/metrics", null);
        assertThat(m.status()).as(m.toString()).isEqualTo(200);
        assertThat(m.body()).contains("http_server_requests_seconds_bucket{")
                .contains("route=\"/v1/hosts\"")
                .contains("hikaricp_connections_active")
                .contains("hikaricp_connections_max");
    }

    @Test
    void madeUpMethodsDoNotGrowTheMetrics() {
        fx.http.send("BREW", "/v1/hosts", null, null, null);
        int before = series(metrics.get("/metrics", null).body());
        for (int i = 0; i < 20; i++) {
            Http.Response r = fx.http.send("X" + i + "Y", i % 2 == 0 ? "/v1/hosts" : "/nothing/" + i, null, null, null);
            assertThat(r.status()).as(r.toString()).isBetween(400, 499);
        }
        String after = metrics.get("/metrics", null).body();
        assertThat(series(after)).as("request series after 20 made-up methods").isEqualTo(before);
        assertThat(after).contains("method=\"other\"").doesNotContain("method=\"X1Y\"");
    }

    @Test
    void pathsNobodyServesDoNotGrowTheMetrics() {
        List<String> kinds = List.of("/nothing/%s", "/v1/%s", "/dashboard/assets/%s.js", "/v1/hosts/%s/nothing");
        kinds.forEach(k -> fx.http.get(k.formatted("warm-up"), ApiFixture.OPERATOR));
        int before = series(metrics.get("/metrics", null).body());
        for (int i = 0; i < 20; i++) {
            String path = kinds.get(i % kinds.size()).formatted(UUID.randomUUID());
            Http.Response r = fx.http.get(path, ApiFixture.OPERATOR);
            assertThat(r.status()).as(path + " " + r).isEqualTo(404);
        }
        String after = metrics.get("/metrics", null).body();
        assertThat(series(after)).as("request series after 20 requests for made-up paths").isEqualTo(before);
        assertThat(after).contains("route=\"unmatched\"").doesNotContain("warm-up");
    }

    @Test
    void metricsAreNotServedOnTheApiPort() {
        Http.Response onApi = fx.http.get("/metrics", null);
        assertThat(onApi.status()).as("GET /metrics on the API's port: " + onApi).isEqualTo(404);
        assertThat(onApi.body()).doesNotContain("http_server_requests").doesNotContain("hikaricp");
        assertThat(fx.http.get("/metrics", ApiFixture.OPERATOR).status()).as("even for an operator").isEqualTo(404);
        Http.Response elsewhere = metrics.get("/v1/hosts", ApiFixture.OPERATOR);
        assertThat(elsewhere.status()).as("the metrics listener serves /metrics alone: " + elsewhere).isEqualTo(404);
    }

    private static int series(String scrape) {
        return (int) scrape.lines().filter(l -> l.startsWith("http_server_requests_seconds_count{")).count();
    }

    @Test
    void theOpenApiDocumentListsExactlyTheRoutesTheServerHas() {
        JsonNode doc = fx.http.get("/openapi.json", null).json();
        assertThat(doc.get("openapi").asText()).startsWith("3.");
        Set<String> documented = new TreeSet<>();
        Iterator<Map.Entry<String, JsonNode>> paths = doc.get("paths").fields();
        while (paths.hasNext()) {
            Map.Entry<String, JsonNode> p = paths.next();
            p.getValue().fieldNames().forEachRemaining(method -> documented.add(method.toUpperCase() + " " + p.getKey()));
        }
        Set<String> served = new TreeSet<>();
        for (ParsedEndpoint e : fx.api.routes()) {
            String method = e.endpoint.method.toString();
            if (Set.of("GET", "POST", "PUT", "DELETE", "PATCH").contains(method)) {
                served.add(method + " " + e.endpoint.path);
            }
        }
        assertThat(documented).isEqualTo(served);
        // Every operation says what it answers, including the one error shape.
        doc.get("paths").forEach(item -> item.forEach(op -> assertThat(op.has("responses")).isTrue()));
    }
}
