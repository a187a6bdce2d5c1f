package gpufleet.control.tenancy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Http;
import gpufleet.control.support.Inventories;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A tenant's offerings (its future RuntimeClasses) and its virtual node's figures, as in the seed. */
class TenantNodeIT {
    static ApiFixture fx;
    static String seedTenant;

    @BeforeAll
    static void start() {
        fx = ApiFixture.start();
        fx.seedOfferings();
        fx.seedHost("a6000-pool");
        seedTenant = fx.tenant("skg00000", List.of("seeweb-nvidia-1xa6000", "seeweb-nvidia-2xa6000"));
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    @Test
    void theSeedPoolGivesTheSeedCapacityAndAllocatableEqualsCapacityWithNoWorkloads() {
        JsonNode node = fx.http.get("/v1/tenants/skg00000/node", seedTenant).json();
        Map<String, String> expected = Map.of("cpu", "63", "memory", "263567056Ki", "nvidia.com/gpu", "8", "pods", "8");
        assertThat(asMap(node.get("capacity"))).isEqualTo(expected);
        assertThat(asMap(node.get("allocatable"))).isEqualTo(expected);
    }

    @Test
    void offeringsCarryTheRuntimeClassAnnotations() {
        JsonNode items = fx.http.get("/v1/tenants/skg00000/offerings", seedTenant).json().get("items");
        assertThat(items.findValuesAsText("name")).containsExactly("seeweb-nvidia-1xa6000", "seeweb-nvidia-2xa6000");
        JsonNode one = items.get(0);
        assertThat(one.get("gpuModel").asText()).isEqualTo(Inventories.A6000);
        assertThat(asMap(one.get("annotations"))).isEqualTo(Map.of(
                "limits.k8s.gpu/cpu", "8000m", "limits.k8s.gpu/memory", "32861620Ki", "limits.k8s.gpu/default", "1"));
        assertThat(items.get(1).at("/annotations/limits.k8s.gpu~1default").asText()).isEqualTo("2");
    }

    @Test
    void aTenantOnlySeesHostsWithItsModelsAndOnlySchedulableOnes() throws Exception {
        String a100Tenant = fx.tenant("a100-only", List.of("seeweb-nvidia-1xa100"));
        JsonNode empty = fx.http.get("/v1/tenants/a100-only/node", a100Tenant).json();
        assertThat(empty.at("/capacity/nvidia.com~1gpu").asText()).isEqualTo("0");
        assertThat(empty.at("/capacity/cpu").asText()).isEqualTo("0");

        ApiFixture.Host a100 = fx.register("a100-box");
        fx.heartbeat(a100);
        fx.report(a100, Inventories.report("a100-box", 1, Inventories.A100, 4, 31_500, 500L << 30));
        JsonNode node = fx.http.get("/v1/tenants/a100-only/node", a100Tenant).json();
        assertThat(asMap(node.get("capacity"))).isEqualTo(Map.of("cpu", "31500m", "memory", "500Gi", "nvidia.com/gpu", "4", "pods", "4"));

        fx.http.post("/v1/hosts/a100-box/cordon", ApiFixture.OPERATOR, null);
        assertThat(fx.http.get("/v1/tenants/a100-only/node", a100Tenant).json().at("/capacity/pods").asText()).isEqualTo("0");
        fx.http.post("/v1/hosts/a100-box/uncordon", ApiFixture.OPERATOR, null);
        try (Connection c = fx.database.connect(); Statement s = c.createStatement()) {
            s.executeUpdate("UPDATE gpus SET healthy = false, health_reason = 'Xid 79' WHERE uuid = '" + Inventories.uuid("a100-box", 1) + "'");
        }
        JsonNode oneBad = fx.http.get("/v1/tenants/a100-only/node", a100Tenant).json();
        assertThat(oneBad.at("/capacity/nvidia.com~1gpu").asText()).isEqualTo("4");
        assertThat(oneBad.at("/allocatable/nvidia.com~1gpu").asText()).isEqualTo("3");
        assertThat(oneBad.at("/allocatable/pods").asText()).isEqualTo("3");
    }

    @Test
    void operatorsManageTenantsTokensAndOfferings() {
        fx.tenant("lifecycle", List.of());
        JsonNode changed = fx.http.put("/v1/tenants/lifecycle/offerings", ApiFixture.OPERATOR,
                Map.of("offerings", List.of("seeweb-nvidia-1xa100"))).json();
        assertThat(changed.get("offerings").get(0).asText()).isEqualTo("seeweb-nvidia-1xa100");

        Http.Response issued = fx.http.post("/v1/tenants/lifecycle/tokens", ApiFixture.OPERATOR, Map.of("description", "ci"));
        String token = issued.json().get("token").asText();
        assertThat(token).startsWith("gft_");
        JsonNode me = fx.http.get("/v1/whoami", token).json();
        assertThat(me.get("role").asText()).isEqualTo("tenant");
        assertThat(me.get("tenant").asText()).isEqualTo("lifecycle");
        JsonNode listed = fx.http.get("/v1/tenants/lifecycle/tokens", ApiFixture.OPERATOR).json().get("items");
        assertThat(listed.toString()).doesNotContain(token);

        JsonNode disabled = fx.http.post("/v1/tenants/lifecycle/disable", ApiFixture.OPERATOR, null).json();
        assertThat(disabled.get("disabled").asBoolean()).isTrue();
        Http.Response refused = fx.http.get("/v1/tenants/lifecycle/node", token);
        assertThat(refused.status()).isEqualTo(403);
        assertThat(refused.message()).isEqualTo("tenant lifecycle is disabled");
        fx.http.post("/v1/tenants/lifecycle/enable", ApiFixture.OPERATOR, null);
        assertThat(fx.http.get("/v1/tenants/lifecycle/node", token).status()).isEqualTo(200);

        assertThat(fx.http.get("/v1/tenants", ApiFixture.OPERATOR).json().get("items").findValuesAsText("name"))
                .contains("lifecycle", "skg00000");
        fx.offering("temporary", Inventories.A6000, 4, "32", "128Gi");
        JsonNode offerings = fx.http.get("/v1/offerings", ApiFixture.OPERATOR).json().get("items");
        assertThat(offerings.findValuesAsText("name")).contains("temporary");
        assertThat(fx.http.delete("/v1/offerings/temporary", ApiFixture.OPERATOR).status()).isEqualTo(204);
        assertThat(fx.http.delete("/v1/offerings/temporary", ApiFixture.OPERATOR).status()).isEqualTo(404);
    }

    private static Map<String, String> asMap(JsonNode node) {
        Map<String, String> m = new java.util.HashMap<>();
        node.fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().asText()));
        return m;
    }
}
