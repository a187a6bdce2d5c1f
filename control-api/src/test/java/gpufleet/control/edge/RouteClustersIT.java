package gpufleet.control.edge;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Http;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A tenant with several clusters: each agent lists, replaces and removes only its own cluster's
 * routes (V26), as it does its workloads; another cluster's route answers 404, as if absent.
 */
class RouteClustersIT {
    static final String A = "3a0e9c52-1b7f-4d2e-8c41-5f6a7b8c9d01";
    static final String B = "3a0e9c52-1b7f-4d2e-8c41-5f6a7b8c9d02";
    static final Map<String, Object> WEB = Map.of("namespace", "default", "name", "web", "port", 80, "targets", List.of());

    private static List<String> uids(JsonNode items) {
        List<String> out = new ArrayList<>();
        items.forEach(r -> out.add(r.get("serviceUid").asText()));
        return out;
    }

    @Test
    void eachClusterSeesReplacesAndRemovesOnlyItsOwnRoutes() {
        try (ApiFixture fx = ApiFixture.start(Map.of("GPUFLEET_EDGE_DOMAIN", "cloud.provider.tld"))) {
            String token = fx.tenant("multi", List.of());
            String base = "/v1/tenants/multi/routes/";
            assertThat(fx.http.put(base + A + "?cluster=east", token, WEB).status()).isEqualTo(200);
            assertThat(fx.http.put(base + B + "?cluster=west", token, WEB).status()).isEqualTo(200);

            assertThat(uids(fx.http.get("/v1/tenants/multi/routes?cluster=east", token).json().get("items"))).containsExactly(A);
            assertThat(uids(fx.http.get("/v1/tenants/multi/routes?cluster=west", token).json().get("items"))).containsExactly(B);
            assertThat(uids(fx.http.get("/v1/tenants/multi/routes", token).json().get("items"))).as("no cluster named: all")
                    .containsExactlyInAnyOrder(A, B);

            Http.Response stolen = fx.http.put(base + B + "?cluster=east", token, Map.of("namespace", "default", "name", "other",
                    "port", 81, "targets", List.of()));
            assertThat(stolen.status()).as(stolen.toString()).isEqualTo(404);
            assertThat(stolen.json().get("message").asText()).isEqualTo("route for service " + B + " of tenant multi in cluster east not found");
            assertThat(fx.http.get(base + B + "?cluster=east", token).status()).isEqualTo(404);
            assertThat(fx.http.delete(base + B + "?cluster=east", token).status()).isEqualTo(404);
            JsonNode west = fx.http.get(base + B + "?cluster=west", token).json();
            assertThat(west.get("name").asText()).as("west's route unchanged by east's attempts").isEqualTo("web");
            assertThat(west.get("port").asInt()).isEqualTo(80);

            assertThat(fx.http.delete(base + B + "?cluster=west", token).status()).isEqualTo(204);
            assertThat(uids(fx.http.get("/v1/tenants/multi/routes", token).json().get("items"))).containsExactly(A);

            Http.Response bad = fx.http.get("/v1/tenants/multi/routes?cluster=Not_A_Label", token);
            assertThat(bad.status()).isEqualTo(400);
            assertThat(bad.json().get("field").asText()).isEqualTo("cluster");
        }
    }
}
