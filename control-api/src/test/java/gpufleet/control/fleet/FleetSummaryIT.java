package gpufleet.control.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.control.ControlApi;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.ApiFixture.Host;
import gpufleet.control.support.Http;
import gpufleet.control.support.Inventories;
import gpufleet.control.support.Pods;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * GET /v1/fleet/summary answers from counts each replica keeps in memory. Once an answer's
 * {@code asOf} is later than a write's commit, it must count that write exactly, on every replica.
 * Liveness is driven (timers at an hour, heartbeats moved into the past) as in LivenessIT.
 */
class FleetSummaryIT {
    static final Map<String, String> DRIVEN = Map.of(
            "GPUFLEET_HEARTBEAT_GRACE", "30s", "GPUFLEET_LOST_AFTER", "10m", "GPUFLEET_LIVENESS_INTERVAL", "1h");
    static ApiFixture fx;
    static ControlApi replica;
    static Http replicaHttp;

    @BeforeAll
    static void start() {
        fx = ApiFixture.start(DRIVEN);
        replica = fx.startReplica(DRIVEN);
        replicaHttp = new Http(replica.port());
    }

    @AfterAll
    static void stop() {
        replica.close();
        fx.close();
    }

    @Test
    void theSummaryCountsPlacementsReleasesCordonAndHostLossOnEveryReplica() {
        Host a = fx.seedHost("sum-a");
        Host b = fx.seedHost("sum-b");
        fx.offering("sum-1xa6000", Inventories.A6000, 1, "1000m", "1Gi");
        String tenant = fx.tenant("sumco", List.of("sum-1xa6000"));
        expect(2, 16, 16, 0, 0, 16, Map.of("ready", 2L));

        for (int i = 0; i < 3; i++) {
            Map<String, Object> job = Pods.pod("w" + i, "w" + i, "sum-1xa6000", List.of(Pods.container("main", 1, "1", "1Gi")));
            job.put("restartPolicy", "Never");
            Http.Response r = fx.http.post("/v1/tenants/sumco/workloads", tenant, job);
            assertThat(r.status()).as(r.toString()).isEqualTo(201);
        }
        expect(2, 16, 13, 3, 0, 13, Map.of("ready", 2L));

        JsonNode w0 = fx.http.get("/v1/tenants/sumco/workloads/w0", tenant).json();
        Host w0Host = w0.get("hostId").asText().equals(a.id()) ? a : b;
        Http.Response done = fx.http.put("/v1/hosts/" + w0Host.id() + "/workloads/" + w0.get("id").asText() + "/status",
                w0Host.token(), Map.of("generation", 1, "containers", List.of(Map.of("name", "main", "state", "terminated",
                        "exitCode", 0, "reason", "Completed"))));
        assertThat(done.status()).as(done.toString()).isEqualTo(200);
        expect(2, 16, 14, 2, 0, 14, Map.of("ready", 2L));

        assertThat(fx.http.post("/v1/hosts/sum-b/cordon", ApiFixture.OPERATOR, null).status()).isEqualTo(200);
        long freeOnA = freeOn("sum-a");
        expect(2, 16, 14, 2, 0, freeOnA, Map.of("ready", 1L, "cordoned", 1L));

        long allocatedOnB = 8 - freeOn("sum-b");
        fx.backdateHeartbeat(a, Duration.ofMinutes(11));
        fx.api.liveness().runOnce();
        // sum-a's workloads failed with it and their GPUs came free; none of its GPUs can be placed on.
        expect(2, 16, 16 - allocatedOnB, allocatedOnB, 0, 0, Map.of("lost", 1L, "cordoned", 1L));
    }

    @Test
    void anUnhealthyGpuIsCountedAsSuchAndAModelOfItsOwnAppears() {
        Host h = fx.register("sum-l40s");
        fx.heartbeat(h);
        fx.report(h, Inventories.withGpus(Inventories.report("sum-l40s", 1, "NVIDIA L40S", 2, 32_000, 128L << 30), 1,
                List.of(Inventories.gpu("sum-l40s", 0, "NVIDIA L40S", true, null),
                        Inventories.gpu("sum-l40s", 1, "NVIDIA L40S", false, "Xid 79"))));
        for (Http via : List.of(fx.http, replicaHttp)) {
            JsonNode l40s = model(fresh(via), "NVIDIA L40S");
            assertThat(l40s.toString()).isEqualTo("{\"model\":\"NVIDIA L40S\",\"hosts\":1,\"total\":2,\"free\":1,"
                    + "\"allocated\":0,\"unhealthy\":1,\"placeable\":1}");
        }
    }

    @Test
    void theSummaryTakesNoQueryParameters() {
        Http.Response r = fx.http.get("/v1/fleet/summary?model=x", ApiFixture.OPERATOR);
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.message()).contains("unknown query parameter 'model'");
    }

    /** The A6000 line and the host states match, on both replicas, in an answer read after now. */
    private static void expect(long hosts, long total, long free, long allocated, long unhealthy, long placeable,
                               Map<String, Long> states) {
        for (Http via : List.of(fx.http, replicaHttp)) {
            JsonNode s = fresh(via);
            JsonNode m = model(s, Inventories.A6000);
            assertThat(List.of(m.get("hosts").asLong(), m.get("total").asLong(), m.get("free").asLong(),
                    m.get("allocated").asLong(), m.get("unhealthy").asLong(), m.get("placeable").asLong()))
                    .as("hosts, total, free, allocated, unhealthy, placeable in %s", s)
                    .containsExactly(hosts, total, free, allocated, unhealthy, placeable);
            for (String state : List.of("ready", "cordoned", "not-ready", "lost")) {
                // Other tests' hosts are ready; only this test's hosts change state.
                long others = state.equals("ready") ? readyElsewhere(s) : 0;
                assertThat(s.at("/hosts/" + state).asLong() - others).as("%s hosts in %s", state, s)
                        .isEqualTo(states.getOrDefault(state, 0L));
            }
        }
    }

    private static long readyElsewhere(JsonNode s) {
        long n = 0;
        for (JsonNode m : s.get("models")) {
            n += m.get("model").asText().equals(Inventories.A6000) ? 0 : m.get("hosts").asLong();
        }
        return n;
    }

    /** A summary whose counts were read after this call began: it has every write committed before. */
    private static JsonNode fresh(Http via) {
        Instant now = fx.api.database().read(c -> {
            try (var ps = c.prepareStatement("SELECT clock_timestamp()"); var rs = ps.executeQuery()) {
                rs.next();
                return rs.getTimestamp(1).toInstant();
            }
        });
        return await("a summary read after " + now).atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .until(() -> via.get("/v1/fleet/summary", ApiFixture.OPERATOR).json(),
                        s -> Instant.parse(s.get("asOf").asText()).isAfter(now));
    }

    private static JsonNode model(JsonNode summary, String model) {
        for (JsonNode m : summary.get("models")) {
            if (m.get("model").asText().equals(model)) {
                return m;
            }
        }
        throw new AssertionError("no " + model + " in " + summary);
    }

    private static long freeOn(String host) {
        return fx.http.get("/v1/gpus?state=free&host=" + host, ApiFixture.OPERATOR).json().get("items").size();
    }
}
