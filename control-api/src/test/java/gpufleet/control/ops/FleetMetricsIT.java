package gpufleet.control.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.common.api.GpuReport;
import gpufleet.common.api.InventoryReport;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Http;
import gpufleet.control.support.Inventories;
import gpufleet.control.support.Pods;
import gpufleet.control.support.Scrape;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The fleet's figures on /metrics follow what happens to it, each over HTTP against a real
 * database: placements, a release, a pending workload placed later, a late host, a lost host,
 * an unhealthy GPU. The test configuration's heartbeat grace is 10 minutes, so a host is named in
 * the lag series past 5.
 */
class FleetMetricsIT {
    private static final String A6000 = Inventories.A6000;
    private static final String TENANT = "skg00000";

    ApiFixture fx;
    Http metrics;

    @BeforeEach
    void start() {
        fx = ApiFixture.start();
        metrics = new Http(fx.api.metricsPort());
        fx.seedOfferings();
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    @Test
    void gpuCountsPlacementLatencyAndPendingFollowPlacementReleaseAndHostLoss() {
        ApiFixture.Host host = fx.seedHost("a6000-01");
        String token = fx.tenant(TENANT, List.of("seeweb-nvidia-1xa6000"));
        until("8 free A6000 on one ready host", s -> s.value("gpufleet_gpus", "model", A6000, "state", "free") == 8
                && s.value("gpufleet_hosts", "state", "ready") == 1);

        for (int i = 0; i < 8; i++) {
            assertThat(create(token, "uid-" + i).get("phase").asText()).isEqualTo("placed");
        }
        assertThat(create(token, "uid-8").get("phase").asText()).isEqualTo("pending");
        Scrape placed = until("8 held by the tenant, one pending", s ->
                s.find("gpufleet_tenant_gpus", "tenant", TENANT, "model", A6000).size() == 1
                        && s.value("gpufleet_tenant_gpus", "tenant", TENANT, "model", A6000) == 8
                        && s.value("gpufleet_workloads_pending") == 1);
        assertThat(placed.value("gpufleet_gpus", "model", A6000, "state", "allocated")).isEqualTo(8);
        assertThat(placed.value("gpufleet_gpus", "model", A6000, "state", "free")).isZero();
        assertThat(placed.value("gpufleet_gpus_placeable", "model", A6000)).isZero();
        assertThat(placed.value("gpufleet_placement_duration_seconds_count", "path", "create"))
                .as("one placement record per create that was placed; the pending one is not placed yet").isEqualTo(8);
        assertThat(placed.value("gpufleet_placement_duration_seconds_bucket", "path", "create", "le", "+Inf")).isEqualTo(8);
        assertThat(placed.value("gpufleet_placement_duration_seconds_count", "path", "retry")).isZero();

        release(host, token, "uid-0");
        Scrape retried = until("the pending workload placed by the pending placer", s ->
                s.value("gpufleet_placement_duration_seconds_count", "path", "retry") == 1 && s.value("gpufleet_workloads_pending") == 0);
        assertThat(retried.value("gpufleet_workloads_pending_oldest_age_seconds")).isZero();
        assertThat(retried.value("gpufleet_placement_duration_seconds_count", "path", "create")).isEqualTo(8);

        fx.backdateHeartbeat(host, Duration.ofMinutes(6));
        Scrape late = until("the host named as late", s -> s.find("gpufleet_host_heartbeat_lag_seconds", "host", "a6000-01").size() == 1);
        assertThat(late.value("gpufleet_host_heartbeat_lag_seconds", "host", "a6000-01")).isGreaterThanOrEqualTo(360);
        assertThat(late.value("gpufleet_hosts_heartbeat_late", "after_seconds", "300")).isEqualTo(1);
        assertThat(late.value("gpufleet_host_heartbeat_lag_max_seconds")).isGreaterThanOrEqualTo(360);

        fx.backdateHeartbeat(host, Duration.ofMinutes(20));
        // The host counts and the lag series come from two background readers, each on its own round:
        // a scrape may see the host lost before the lag reader's next round drops its name.
        Scrape lost = until("the host lost, its GPUs released, and its lag series gone", s -> s.value("gpufleet_hosts", "state", "lost") == 1
                && s.value("gpufleet_gpus", "model", A6000, "state", "allocated") == 0
                && s.find("gpufleet_host_heartbeat_lag_seconds").isEmpty());
        assertThat(lost.find("gpufleet_tenant_gpus", "tenant", TENANT)).as("a tenant holding nothing has no series").isEmpty();
        assertThat(lost.value("gpufleet_hosts", "state", "ready")).isZero();
        assertThat(lost.value("gpufleet_hosts_heartbeat_late", "after_seconds", "300")).as("a lost host is counted as lost, not as late").isZero();
        assertThat(lost.value("gpufleet_gpus_placeable", "model", A6000)).as("free GPUs of a lost host are not placeable").isZero();
    }

    @Test
    void aPendingWorkloadsAgeGrowsWhileItWaits() {
        fx.tenant(TENANT, List.of("seeweb-nvidia-1xa6000"));
        String token = fx.tenant("other", List.of("seeweb-nvidia-1xa6000"));
        assertThat(fx.http.post("/v1/tenants/other/workloads", token, Pods.seedPod("waits")).json().get("phase").asText())
                .isEqualTo("pending");
        sql("UPDATE workloads SET created_at = created_at - interval '15 minutes' WHERE pod_uid = 'waits'");
        Scrape s = until("one pending workload 15 minutes old", x -> x.value("gpufleet_workloads_pending") == 1
                && x.value("gpufleet_workloads_pending_oldest_age_seconds") >= 900);
        assertThat(s.value("gpufleet_workloads_pending_oldest_age_seconds")).isLessThan(3600);
    }

    @Test
    void anUnhealthyGpuIsNamedWithItsReasonEscapedAsTheFormatRequires() {
        ApiFixture.Host h = fx.register("a100-01");
        fx.heartbeat(h);
        String reason = "Xid 79 \"fallen off the bus\" \\ at C:\\gpu\n# HELP forged a forged line\nforged_metric 1";
        List<GpuReport> gpus = new ArrayList<>();
        gpus.add(Inventories.gpu("a100-01", 0, Inventories.A100, false, reason));
        gpus.add(Inventories.gpu("a100-01", 1, Inventories.A100, true, null));
        InventoryReport base = Inventories.report("a100-01", 1, Inventories.A100, 2, 63_000, 256L << 30);
        fx.report(h, Inventories.withGpus(base, 1, gpus));
        Scrape s = until("one unhealthy A100", x -> x.value("gpufleet_gpus", "model", Inventories.A100, "state", "unhealthy") == 1);
        List<Scrape.Sample> sick = s.find("gpufleet_gpu_unhealthy_info", "host", "a100-01");
        assertThat(sick).hasSize(1);
        assertThat(sick.get(0).labels()).containsEntry("gpu", Inventories.uuid("a100-01", 0)).containsEntry("reason", reason);
        assertThat(s.names()).as("the reason's newlines stay inside its label").doesNotContain("forged_metric");
        assertThat(s.text().lines().filter(l -> l.startsWith("# HELP forged"))).isEmpty();
        assertThat(s.value("gpufleet_gpus", "model", Inventories.A100, "state", "free")).isEqualTo(1);
    }

    @Test
    void lateHostsAreCountedAllButNamedAtMostAHundred() {
        List<ApiFixture.Host> hosts = new ArrayList<>();
        for (int i = 0; i < FleetProbe.MOST_NAMED + 5; i++) {
            ApiFixture.Host h = fx.register(String.format("late-%03d", i));
            fx.heartbeat(h);
            hosts.add(h);
        }
        // Host i is late by 6 minutes and i seconds: the latest ones are named.
        sql("UPDATE host_heartbeats b SET seen_at = now() - interval '6 minutes' - make_interval(secs => substr(h.name, 6)::int)"
                + " FROM hosts h WHERE h.id = b.host_id");
        Scrape s = until("105 late hosts", x -> x.value("gpufleet_hosts_heartbeat_late", "after_seconds", "300") == hosts.size());
        List<Scrape.Sample> named = s.find("gpufleet_host_heartbeat_lag_seconds");
        assertThat(named).hasSize(FleetProbe.MOST_NAMED);
        assertThat(named).extracting(n -> n.labels().get("host")).contains("late-104").doesNotContain("late-000", "late-004");
        assertThat(s.value("gpufleet_hosts_heartbeat_late", "after_seconds", "10")).isEqualTo(hosts.size());
        assertThat(s.value("gpufleet_host_heartbeat_lag_max_seconds")).isGreaterThanOrEqualTo(360 + 104);
    }

    private JsonNode create(String token, String uid) {
        Http.Response r = fx.http.post("/v1/tenants/" + TENANT + "/workloads", token, Pods.seedPod(uid));
        assertThat(r.status()).as(r.toString()).isIn(200, 201);
        return r.json();
    }

    /** Deletes the pod and has the host confirm its containers are gone, which frees the GPU. */
    private void release(ApiFixture.Host host, String token, String uid) {
        assertThat(fx.http.delete("/v1/tenants/" + TENANT + "/workloads/" + uid, token).status()).isIn(200, 202);
        String id = fx.http.get("/v1/tenants/" + TENANT + "/workloads/" + uid, token).json().get("id").asText();
        Http.Response gone = fx.http.put("/v1/hosts/" + host.id() + "/workloads/" + id + "/status", host.token(),
                Map.of("generation", 5, "gone", true, "containers", List.of(Map.of("name", "nvidia", "state", "terminated",
                        "reason", "Error", "exitCode", 143))));
        assertThat(gone.status()).as(gone.toString()).isEqualTo(200);
    }

    private Scrape until(String what, Predicate<Scrape> ok) {
        Scrape[] last = new Scrape[1];
        await(what).atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100)).ignoreExceptions().until(() -> {
            Http.Response r = metrics.get("/metrics", null);
            assertThat(r.status()).isEqualTo(200);
            last[0] = new Scrape(r.body());
            return ok.test(last[0]);
        });
        return last[0];
    }

    private void sql(String statement) {
        try (Connection c = fx.database.connect(); PreparedStatement ps = c.prepareStatement(statement)) {
            ps.executeUpdate();
        } catch (SQLException e) {
            throw new IllegalStateException(statement, e);
        }
    }
}
