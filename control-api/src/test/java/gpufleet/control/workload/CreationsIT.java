package gpufleet.control.workload;

import static org.assertj.core.api.Assertions.assertThat;

import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Http;
import gpufleet.control.support.Inventories;
import gpufleet.control.support.Pods;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;

/**
 * Every create takes one path (Creations), whether it comes alone or among many: each request of
 * a burst gets the answer it would get alone, and no request's answer depends on its neighbours.
 */
class CreationsIT {
    static final String OFFERING = "seeweb-nvidia-1xa6000";

    /** {@code n} creates sent at the same moment; their answers in order. */
    private static List<Http.Response> atOnce(int n, IntFunction<Http.Response> call) {
        ExecutorService pool = Executors.newFixedThreadPool(n);
        CountDownLatch go = new CountDownLatch(1);
        List<CompletableFuture<Http.Response>> calls = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int k = i;
            calls.add(CompletableFuture.supplyAsync(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                return call.apply(k);
            }, pool));
        }
        go.countDown();
        List<Http.Response> out = calls.stream().map(CompletableFuture::join).toList();
        pool.shutdown();
        return out;
    }

    @Test
    void aBurstMixingGoodAndRefusedPodsGivesEachItsOwnAnswer() throws Exception {
        try (ApiFixture fx = ApiFixture.start(Map.of("GPUFLEET_DB_POOL_SIZE", "16"))) {
            fx.seedOfferings();
            fx.seedHost("burst-host");
            String token = fx.tenant("mixed", List.of(OFFERING));
            assertThat(fx.http.put("/v1/tenants/mixed/limits", ApiFixture.OPERATOR, Map.of("maxWorkloads", 10)).status()).isEqualTo(200);
            List<Http.Response> answers = atOnce(16, i -> fx.http.post("/v1/tenants/mixed/workloads", token, switch (i) {
                case 0 -> Pods.pod("too-big", "big", OFFERING, List.of(Pods.container("c", 2, "2", "16Gi")));
                case 1 -> Pods.pod("elsewhere", "other", "seeweb-nvidia-1xa100", List.of(Pods.container("c", 1, "2", "16Gi")));
                case 2, 3 -> Pods.seedPod("twice");
                default -> Pods.seedPod("good-" + i);
            }));
            assertThat(answers.get(0).status()).as(answers.get(0).toString()).isEqualTo(400);
            assertThat(answers.get(0).json().get("message").asText()).contains("allows 1 to 1 GPU(s)");
            assertThat(answers.get(1).status()).as(answers.get(1).toString()).isEqualTo(400);
            assertThat(answers.get(1).json().get("message").asText()).isEqualTo(
                    "offering seeweb-nvidia-1xa100 is not available to tenant mixed");
            List<Integer> twice = List.of(answers.get(2).status(), answers.get(3).status());
            assertThat(twice).as("the same pod twice: created once, found once").containsExactlyInAnyOrder(201, 200);
            assertThat(answers.get(2).json().get("id").asText()).isEqualTo(answers.get(3).json().get("id").asText());
            // 10 allowed: "twice" and 9 of the 12 good pods; the other 3 get the quota's refusal.
            List<Http.Response> good = answers.subList(4, 16);
            assertThat(good.stream().filter(r -> r.status() == 201)).hasSize(9);
            assertThat(good.stream().filter(r -> r.status() == 403))
                    .hasSize(3).allSatisfy(r -> assertThat(r.json().get("message").asText())
                            .startsWith("exceeded quota: workloads of tenant mixed, requested: 1, used: 10, limited: 10"));
            assertThat(good.stream().filter(r -> r.status() == 201).filter(r -> r.json().get("phase").asText().equals("placed")))
                    .as("8 GPUs on the host").hasSize(7);
            try (Connection c = fx.database.connect(); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT count(*), count(DISTINCT pod_uid) FROM workloads WHERE tenant = 'mixed'")) {
                rs.next();
                assertThat(rs.getInt(1)).as("nothing stored for a refused pod, the repeated one once").isEqualTo(10);
                assertThat(rs.getInt(2)).isEqualTo(10);
            }
        }
    }

    @Test
    void aPodTheDatabaseRefusesFailsAloneNotItsBatch() throws Exception {
        try (ApiFixture fx = ApiFixture.start(Map.of("GPUFLEET_DB_POOL_SIZE", "16"))) {
            fx.seedOfferings();
            fx.seedHost("fault-host");
            String token = fx.tenant("faulty", List.of(OFFERING));
            // A fault no validation foresaw, standing for any the database may raise for one row.
            try (Connection c = fx.database.connect(); Statement s = c.createStatement()) {
                s.execute("""
                        CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
                        BEGIN
                          IF NEW.pod_uid = 'poison' THEN RAISE EXCEPTION 'poisoned row'; END IF;
                          RETURN NEW;
                        END $$""");
                s.execute("CREATE TRIGGER refuse_poison BEFORE INSERT ON workloads FOR EACH ROW EXECUTE FUNCTION refuse_poison()");
            }
            List<Http.Response> answers = atOnce(16, i -> fx.http.post("/v1/tenants/faulty/workloads", token,
                    Pods.seedPod(i == 0 ? "poison" : "p-" + i)));
            assertThat(answers.get(0).status()).as(answers.get(0).toString()).isNotEqualTo(201);
            assertThat(answers.subList(1, 16)).allSatisfy(r -> assertThat(r.status()).as(r.toString()).isEqualTo(201));
        }
    }

    @Test
    void aBurstOfTwoModelsAndTwoSizesFillsTheHostsOnceEachPodWithOneScheduledEvent() throws Exception {
        try (ApiFixture fx = ApiFixture.start(Map.of("GPUFLEET_DB_POOL_SIZE", "16"))) {
            fx.seedOfferings();
            fx.seedHost("mixed-a6000"); // 8 x A6000
            ApiFixture.Host a100 = fx.register("mixed-a100");
            fx.heartbeat(a100);
            fx.report(a100, Inventories.report("mixed-a100", 1, Inventories.A100, 4, 63_000, 256L << 30));
            String token = fx.tenant("models", List.of(OFFERING, "seeweb-nvidia-2xa6000", "seeweb-nvidia-1xa100"));
            // 12 A6000 GPUs asked of 8, 4 A100 of 4.
            List<Http.Response> answers = atOnce(12, i -> fx.http.post("/v1/tenants/models/workloads", token, switch (i % 3) {
                case 0 -> Pods.pod("two-" + i, "two-" + i, "seeweb-nvidia-2xa6000", List.of(Pods.container("c", 2, "2", "16Gi")));
                case 1 -> Pods.pod("a100-" + i, "a100-" + i, "seeweb-nvidia-1xa100", List.of(Pods.container("c", 1, "2", "16Gi")));
                default -> Pods.seedPod("one-" + i);
            }));
            assertThat(answers).allSatisfy(r -> assertThat(r.status()).as(r.toString()).isEqualTo(201));
            try (Connection c = fx.database.connect(); Statement s = c.createStatement()) {
                try (ResultSet rs = s.executeQuery("""
                        SELECT g.model, count(*), count(DISTINCT a.gpu_uuid) FROM gpu_allocations a JOIN gpus g ON g.uuid = a.gpu_uuid
                        WHERE a.released_at IS NULL GROUP BY g.model ORDER BY g.model""")) {
                    List<String> held = new ArrayList<>();
                    while (rs.next()) {
                        assertThat(rs.getInt(2)).as("no GPU held twice").isEqualTo(rs.getInt(3));
                        held.add(rs.getString(1) + "=" + rs.getInt(2));
                    }
                    assertThat(held).containsExactly(Inventories.A100 + "=4", Inventories.A6000 + "=8");
                }
                try (ResultSet rs = s.executeQuery("""
                        SELECT w.name, h.name, (SELECT string_agg(e.message, ' | ') FROM events e
                                                   WHERE e.kind = 'workload' AND e.object = w.id::text AND e.reason = 'Scheduled')
                        FROM workloads w JOIN hosts h ON h.id = w.host_id WHERE w.tenant = 'models'""")) {
                    int placed = 0;
                    while (rs.next()) {
                        placed++;
                        assertThat(rs.getString(3)).as("the one Scheduled event of pod " + rs.getString(1))
                                .isEqualTo("pod models default/" + rs.getString(1) + " placed on host " + rs.getString(2));
                    }
                    assertThat(placed).as("4 A100 pods and the A6000 pods that fit").isGreaterThanOrEqualTo(8);
                }
                try (ResultSet rs = s.executeQuery("""
                        SELECT count(*) FROM host_usage u WHERE u.cpu_millis <> (SELECT coalesce(sum(w.cpu_millis), 0) FROM workloads w
                            WHERE w.host_id = u.host_id AND w.deleted_at IS NULL AND w.finished_at IS NULL)""")) {
                    rs.next();
                    assertThat(rs.getInt(1)).as("hosts whose recorded cpu use is not their workloads' sum").isZero();
                }
            }
        }
    }
}
