package gpufleet.control.inventory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.common.api.GpuReport;
import gpufleet.common.api.InventoryReport;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.ApiFixture.Host;
import gpufleet.control.support.Http;
import gpufleet.control.support.Inventories;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A host joins, heartbeats and reports; operators find its GPUs. Real control-api, real PostgreSQL. */
class InventoryIT {
    static ApiFixture fx;

    @BeforeAll
    static void start() {
        fx = ApiFixture.start();
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    @Test
    void registeredHostWithEightGpusAppearsInTheOperatorListing() {
        Host h = fx.register("gpu-01");
        JsonNode before = fx.http.get("/v1/hosts/gpu-01", ApiFixture.OPERATOR).json();
        assertThat(before.at("/host/state").asText()).isEqualTo("not-ready");

        fx.heartbeat(h);
        JsonNode applied = fx.report(h, Inventories.seedPool("gpu-01", 1));
        assertThat(applied.get("applied").asBoolean()).isTrue();

        JsonNode host = fx.http.get("/v1/hosts/" + h.id(), ApiFixture.OPERATOR).json();
        assertThat(host.at("/host/name").asText()).isEqualTo("gpu-01");
        assertThat(host.at("/host/state").asText()).isEqualTo("ready");
        assertThat(host.at("/host/lastHeartbeat").isTextual()).isTrue();
        assertThat(host.at("/host/driverVersion").asText()).isEqualTo("550.127.05");
        assertThat(host.at("/host/resources/allocatableCpu").asText()).isEqualTo("63");
        assertThat(host.at("/host/resources/allocatableMemory").asText()).isEqualTo("263567056Ki");
        assertThat(host.at("/host/gpus/total").asInt()).isEqualTo(8);
        assertThat(host.at("/host/gpus/free").asInt()).isEqualTo(8);
        assertThat(host.get("gpus")).hasSize(8);
        JsonNode gpu0 = host.get("gpus").get(0);
        assertThat(gpu0.get("uuid").asText()).isEqualTo(Inventories.uuid("gpu-01", 0));
        assertThat(gpu0.get("model").asText()).isEqualTo(Inventories.A6000);
        assertThat(gpu0.get("pciBusId").asText()).isEqualTo("00000000:18:00.0");
        assertThat(gpu0.get("numaNode").asInt()).isZero();
        assertThat(gpu0.get("state").asText()).isEqualTo("free");
        assertThat(gpu0.get("temperatureC").asInt()).isEqualTo(40);

        JsonNode listing = fx.http.get("/v1/hosts", ApiFixture.OPERATOR).json();
        assertThat(listing.get("items").findValuesAsText("name")).contains("gpu-01");
    }

    @Test
    void gpuFiltersByModelHostAndState() {
        Host a = fx.seedHost("filter-a6000");
        Host b = fx.register("filter-a100");
        fx.heartbeat(b);
        InventoryReport r = Inventories.report("filter-a100", 1, Inventories.A100, 4, 31_000, 128L << 30);
        List<GpuReport> gpus = new ArrayList<>(r.gpus());
        gpus.set(2, Inventories.gpu("filter-a100", 2, Inventories.A100, false, "Xid 79: GPU has fallen off the bus"));
        fx.report(b, Inventories.withGpus(r, 1, gpus));

        assertThat(gpus(Map.of("host", "filter-a100"))).hasSize(4);
        assertThat(gpus(Map.of("host", a.id(), "model", Inventories.A6000))).hasSize(8);
        assertThat(gpus(Map.of("host", "filter-a100", "model", Inventories.A6000))).isEmpty();
        List<JsonNode> bad = gpus(Map.of("host", "filter-a100", "state", "unhealthy"));
        assertThat(bad).hasSize(1);
        assertThat(bad.get(0).get("healthReason").asText()).isEqualTo("Xid 79: GPU has fallen off the bus");
        assertThat(gpus(Map.of("host", "filter-a100", "state", "free"))).hasSize(3);
        assertThat(gpus(Map.of("model", Inventories.A100, "state", "free"))).hasSize(3);
        assertThat(gpus(Map.of("host", "filter-a100", "state", "allocated"))).isEmpty();

        // The summary is each replica's counts of at most a second ago (FleetSnapshot; FleetSummaryIT).
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            JsonNode a100 = null;
            for (JsonNode m : fx.http.get("/v1/fleet/summary", ApiFixture.OPERATOR).json().get("models")) {
                if (m.get("model").asText().equals(Inventories.A100)) {
                    a100 = m;
                }
            }
            assertThat(a100).isNotNull();
            assertThat(a100.get("total").asInt()).isEqualTo(4);
            assertThat(a100.get("free").asInt()).isEqualTo(3);
            assertThat(a100.get("unhealthy").asInt()).isEqualTo(1);
        });
    }

    @Test
    void allocatedGpusAreFoundByStateAndTenant() throws Exception {
        fx.seedHost("shared-box");
        fx.http.post("/v1/tenants", ApiFixture.OPERATOR, Map.of("name", "holder"));
        try (java.sql.Connection c = fx.database.connect(); java.sql.Statement s = c.createStatement()) {
            // Placement arrives with workloads; here the allocation row is written as placement will.
            s.executeUpdate("INSERT INTO gpu_allocations (gpu_uuid, tenant) VALUES ('" + Inventories.uuid("shared-box", 5) + "', 'holder')");
        }
        List<JsonNode> held = gpus(Map.of("tenant", "holder"));
        assertThat(held).extracting(g -> g.get("uuid").asText()).containsExactly(Inventories.uuid("shared-box", 5));
        assertThat(held.get(0).get("state").asText()).isEqualTo("allocated");
        assertThat(gpus(Map.of("host", "shared-box", "state", "allocated"))).hasSize(1);
        assertThat(gpus(Map.of("host", "shared-box", "state", "free"))).hasSize(7);
        JsonNode host = fx.http.get("/v1/hosts/shared-box", ApiFixture.OPERATOR).json().get("host");
        assertThat(host.at("/gpus/allocated").asInt()).isEqualTo(1);
        assertThat(host.at("/gpus/free").asInt()).isEqualTo(7);
        assertThat(gpus(Map.of("tenant", "nobody-holds-this"))).isEmpty();
    }

    @Test
    void gpuListingPagesWithContinue() {
        fx.seedHost("paging");
        Http.Response first = fx.http.get("/v1/gpus?host=paging&limit=5", ApiFixture.OPERATOR);
        assertThat(first.json().get("items")).hasSize(5);
        String next = first.json().get("continueAfter").asText();
        Http.Response second = fx.http.get("/v1/gpus?host=paging&limit=5&continue=" + next, ApiFixture.OPERATOR);
        assertThat(second.json().get("items")).hasSize(3);
        assertThat(second.json().has("continueAfter")).isFalse();
    }

    @Test
    void anOlderGenerationNeverOverwritesANewerOne() {
        Host h = fx.seedHost("generations");
        InventoryReport newer = Inventories.withGpus(Inventories.seedPool("generations", 5), 5,
                Inventories.seedPool("generations", 5).gpus().subList(0, 8));
        fx.report(h, Inventories.report("generations", 5, Inventories.A6000, 8, 60_000, 200L << 30));

        JsonNode stale = fx.report(h, Inventories.report("generations", 3, Inventories.A6000, 8, 10_000, 1L << 30));
        assertThat(stale.get("applied").asBoolean()).isFalse();
        assertThat(stale.get("generation").asLong()).isEqualTo(5);
        JsonNode same = fx.report(h, newer);
        assertThat(same.get("applied").asBoolean()).isFalse();

        JsonNode host = fx.http.get("/v1/hosts/generations", ApiFixture.OPERATOR).json().get("host");
        assertThat(host.get("inventoryGeneration").asLong()).isEqualTo(5);
        assertThat(host.at("/resources/allocatableCpu").asText()).isEqualTo("60");
    }

    @Test
    void aGpuTheHostStopsReportingStaysListedAsUnhealthy() {
        Host h = fx.seedHost("shrinking");
        InventoryReport seven = Inventories.withGpus(Inventories.seedPool("shrinking", 2), 2,
                Inventories.seedPool("shrinking", 2).gpus().subList(0, 7));
        fx.report(h, seven);
        List<JsonNode> unhealthy = gpus(Map.of("host", "shrinking", "state", "unhealthy"));
        assertThat(unhealthy).hasSize(1);
        assertThat(unhealthy.get(0).get("uuid").asText()).isEqualTo(Inventories.uuid("shrinking", 7));
        assertThat(unhealthy.get(0).get("present").asBoolean()).isFalse();
        assertThat(unhealthy.get(0).get("healthReason").asText()).contains("not reported by the host since generation 2");

        fx.report(h, Inventories.seedPool("shrinking", 3));
        assertThat(gpus(Map.of("host", "shrinking", "state", "free"))).hasSize(8);
    }

    @Test
    void registeringTheNameOfALiveHostAgainIsRefusedAndItsCredentialKeepsWorking() {
        Host first = fx.register("rejoin");
        Http.Response again = fx.http.post("/v1/hosts/register", fx.joinToken(), Map.of("name", "rejoin"));
        assertThat(again.status()).as(again.toString()).isEqualTo(409);
        assertThat(again.message()).contains("host rejoin is registered and live");
        fx.heartbeat(first);
    }

    @Test
    void aGpuAlreadyOnAnotherHostIsRefusedAndNothingChanges() {
        fx.seedHost("owner");
        Host thief = fx.register("thief");
        fx.heartbeat(thief);
        InventoryReport claim = Inventories.withGpus(Inventories.seedPool("thief", 1), 1,
                List.of(Inventories.gpu("thief", 0, Inventories.A6000, true, null), Inventories.gpu("owner", 3, Inventories.A6000, true, null)));
        Http.Response r = fx.http.put("/v1/hosts/" + thief.id() + "/inventory", thief.token(), claim);
        assertThat(r.status()).isEqualTo(409);
        assertThat(r.message()).contains(Inventories.uuid("owner", 3)).contains("another host");
        assertThat(r.json().get("field").asText()).isEqualTo("gpus[1].uuid");
        assertThat(gpus(Map.of("host", "thief"))).isEmpty();
        assertThat(fx.http.get("/v1/hosts/thief", ApiFixture.OPERATOR).json().at("/host/inventoryGeneration").isMissingNode()).isTrue();
    }

    @Test
    void cordonAndUncordon() {
        fx.seedHost("cordon-me");
        JsonNode c = fx.http.post("/v1/hosts/cordon-me/cordon", ApiFixture.OPERATOR, null).json();
        assertThat(c.at("/host/state").asText()).isEqualTo("cordoned");
        assertThat(c.get("changed").asBoolean()).isTrue();
        assertThat(fx.http.post("/v1/hosts/cordon-me/cordon", ApiFixture.OPERATOR, null).json().get("changed").asBoolean()).isFalse();
        assertThat(fx.http.get("/v1/hosts?state=cordoned", ApiFixture.OPERATOR).json().get("items").findValuesAsText("name"))
                .contains("cordon-me");
        JsonNode u = fx.http.post("/v1/hosts/cordon-me/uncordon", ApiFixture.OPERATOR, null).json();
        assertThat(u.at("/host/state").asText()).isEqualTo("ready");
    }

    private static List<JsonNode> gpus(Map<String, String> query) {
        StringBuilder q = new StringBuilder("/v1/gpus?");
        query.forEach((k, v) -> q.append(k).append('=').append(java.net.URLEncoder.encode(v, java.nio.charset.StandardCharsets.UTF_8)).append('&'));
        Http.Response r = fx.http.get(q.toString(), ApiFixture.OPERATOR);
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        List<JsonNode> out = new ArrayList<>();
        r.json().get("items").forEach(out::add);
        return out;
    }
}
