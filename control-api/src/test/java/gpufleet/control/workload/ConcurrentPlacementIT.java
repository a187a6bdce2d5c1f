package gpufleet.control.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.control.ControlApi;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Http;
import gpufleet.control.support.Pods;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

/** No GPU is ever given twice, whatever the concurrency and the number of replicas. */
class ConcurrentPlacementIT {
    @Test
    void sixtyFourRequestsThroughTwoReplicasOverEightGpusPlaceExactlyEight() throws Exception {
        Map<String, String> cfg = Map.of("GPUFLEET_DB_POOL_SIZE", "16", "GPUFLEET_HEARTBEAT_GRACE", "5m", "GPUFLEET_LOST_AFTER", "10m");
        try (ApiFixture fx = ApiFixture.start(cfg); ControlApi replica = fx.startReplica(cfg)) {
            fx.seedOfferings();
            fx.seedHost("only-host");
            String token = fx.tenant("racer", List.of("seeweb-nvidia-1xa6000"));
            Http[] apis = {fx.http, new Http(replica.port())};
            ExecutorService pool = Executors.newFixedThreadPool(64);
            CountDownLatch go = new CountDownLatch(1);
            List<CompletableFuture<Http.Response>> calls = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                int n = i;
                calls.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                    return apis[n % 2].post("/v1/tenants/racer/workloads", token, Pods.seedPod("race-" + n));
                }, pool));
            }
            go.countDown();
            List<JsonNode> answers = new ArrayList<>();
            for (CompletableFuture<Http.Response> c : calls) {
                Http.Response r = c.join();
                assertThat(r.status()).as(r.toString()).isEqualTo(201);
                answers.add(r.json());
            }
            pool.shutdown();
            assertThat(answers.stream().filter(a -> a.get("phase").asText().equals("placed"))).hasSize(8);
            assertThat(answers.stream().filter(a -> a.get("phase").asText().equals("pending"))).hasSize(56)
                    .allSatisfy(a -> assertThat(a.get("message").asText()).startsWith("no ready host has 1 free NVIDIA RTX A6000"));
            List<String> gpus = answers.stream().filter(a -> a.has("gpus") && a.get("gpus").has("nvidia"))
                    .map(a -> a.at("/gpus/nvidia/0").asText()).toList();
            assertThat(gpus).hasSize(8).doesNotHaveDuplicates();

            // The pending placer keeps trying on both replicas; still nothing more fits.
            fx.api.placer().runOnce();
            replica.placer().runOnce();
            try (Connection c = fx.database.connect(); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("""
                         SELECT count(*), count(DISTINCT gpu_uuid) FROM gpu_allocations WHERE released_at IS NULL""")) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(8);
                assertThat(rs.getInt(2)).isEqualTo(8);
            }
        }
    }

    @Test
    void theDatabaseItselfRefusesASecondLiveAllocationOfOneGpu() throws Exception {
        try (ApiFixture fx = ApiFixture.start()) {
            fx.seedHost("guarded");
            fx.http.post("/v1/tenants", ApiFixture.OPERATOR, Map.of("name", "t1"));
            String uuid = fx.http.get("/v1/gpus?host=guarded&limit=1", ApiFixture.OPERATOR).json().at("/items/0/uuid").asText();
            try (Connection c = fx.database.connect(); Statement s = c.createStatement()) {
                s.executeUpdate("INSERT INTO gpu_allocations (gpu_uuid, tenant) VALUES ('" + uuid + "', 't1')");
                assertThatThrownBy(() -> s.executeUpdate("INSERT INTO gpu_allocations (gpu_uuid, tenant) VALUES ('" + uuid + "', 't1')"))
                        .hasMessageContaining("gpu_allocations_live");
            }
        }
    }

    @Test
    void aLostHostsWorkloadsFailAndTheirGpusComeFree() {
        // The fixture's long grace keeps the host ready while the pod is placed, however slow the
        // machine; then its silence is made longer than the lost period and the one pass is run
        // (the timer is set to an hour, so no pass of its own races the assertions).
        try (ApiFixture fx = ApiFixture.start(Map.of("GPUFLEET_LIVENESS_INTERVAL", "1h"))) {
            fx.seedOfferings();
            ApiFixture.Host doomed = fx.seedHost("doomed");
            String token = fx.tenant("victim", List.of("seeweb-nvidia-1xa6000"));
            fx.http.post("/v1/tenants/victim/workloads", token, Pods.seedPod("uid-lost"));
            assertThat(fx.http.get("/v1/gpus?state=allocated", ApiFixture.OPERATOR).json().get("items")).hasSize(1);
            fx.backdateHeartbeat(doomed, Duration.ofMinutes(21));
            assertThat(fx.api.liveness().runOnce()).as("host state changes in the pass").isPositive();
            JsonNode w = fx.http.get("/v1/tenants/victim/workloads/uid-lost", token).json();
            assertThat(w.get("phase").asText()).isEqualTo("failed");
            assertThat(w.get("reason").asText()).isEqualTo("HostLost");
            assertThat(w.get("message").asText()).isEqualTo("host doomed stopped reporting and was declared lost");
            assertThat(fx.http.get("/v1/gpus?state=allocated", ApiFixture.OPERATOR).json().get("items")).isEmpty();
        }
    }
}
