package gpufleet.control.usage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.control.ControlApi;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.ApiFixture.Host;
import gpufleet.control.support.Http;
import gpufleet.control.support.Inventories;
import gpufleet.control.support.Pods;
import gpufleet.control.support.SimulatedClock;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A simulated day (2026-06-01, UTC) of two tenants on two hosts, with the clock set before each
 * step, and GPU-seconds known to the second: creates, a pod that waits for a host and is placed
 * later, a delete whose GPU comes back when the host says the containers are gone, an eviction,
 * a job that finishes, a control-api restart with a GPU held across it, and a host lost mid-run
 * (its intervals end at its last heartbeat).
 */
class UsageDayIT {
    static final Instant DAY = Instant.parse("2026-06-01T00:00:00Z");
    static ApiFixture fx;
    static ControlApi restarted;
    static Http http;
    static SimulatedClock clock;
    static Host a6000;
    static Host a100;
    static String one;
    static String two;

    static Instant at(String time) {
        return Instant.parse("2026-06-01T" + time + "Z");
    }

    @BeforeAll
    static void day() {
        fx = ApiFixture.start();
        http = fx.http;
        clock = SimulatedClock.install(fx.database, DAY);
        fx.seedOfferings();
        a6000 = fx.seedHost("a6000-01");
        one = fx.tenant("skg00001", List.of("seeweb-nvidia-1xa6000", "seeweb-nvidia-2xa6000"));
        two = fx.tenant("skg00002", List.of("seeweb-nvidia-1xa100", "seeweb-nvidia-1xa6000"));

        create(one, "pod-a", "seeweb-nvidia-1xa6000", 1, "placed");                  // 00:00:00
        clock.set(at("01:00:00"));
        create(one, "pod-b", "seeweb-nvidia-2xa6000", 2, "placed");
        clock.set(at("02:00:00"));
        create(two, "pod-d", "seeweb-nvidia-1xa100", 1, "pending");                   // no A100 host yet
        clock.set(at("03:00:00"));
        a100 = fx.register("a100-01");
        fx.heartbeat(a100);
        fx.report(a100, Inventories.report("a100-01", 1, Inventories.A100, 4, 63_000, 256L << 30));
        await().atMost(Duration.ofSeconds(20)).until(() -> phase(two, "pod-d").equals("placed"));
        clock.set(at("03:30:00"));
        create(two, "pod-c", "seeweb-nvidia-1xa100", 1, "placed");

        clock.set(at("04:00:00"));
        assertThat(http.delete("/v1/tenants/skg00001/workloads/pod-a", one).status()).isEqualTo(202);
        clock.set(at("04:00:30"));                                                     // the host's containers are gone
        hostReport(a6000, one, "pod-a", Map.of("gone", true));

        clock.set(at("05:00:00"));
        Http.Response evicted = http.post("/v1/hosts/" + a6000.id() + "/workloads/" + id(one, "pod-b") + "/eviction",
                a6000.token(), Map.of("message", "Pod ephemeral local storage usage exceeds the total limit of containers 1Gi."));
        assertThat(evicted.status()).as(evicted.toString()).isEqualTo(201);
        clock.set(at("05:00:10"));
        hostReport(a6000, one, "pod-b", Map.of("gone", true));

        clock.set(at("06:00:00"));
        create(two, "pod-e", "seeweb-nvidia-1xa6000", 1, "placed");                   // still held at the end

        clock.set(at("07:00:00"));                                                     // the control-api restarts
        fx.api.close();
        restarted = fx.startReplica(Map.of());
        http = new Http(restarted.port());

        clock.set(at("09:45:00"));                                                     // a100-01 last beat at 09:30
        clock.lastHeartbeat(a100.id(), at("09:30:00"));
        await().atMost(Duration.ofSeconds(20)).until(() -> phase(two, "pod-c").equals("failed"));

        clock.set(at("11:00:00"));
        Map<String, Object> job = Pods.pod("pod-f", "job", "seeweb-nvidia-1xa6000", List.of(Pods.container("main", 1, "2", "16Gi")));
        job.put("restartPolicy", "Never");
        assertThat(http.post("/v1/tenants/skg00001/workloads", one, job).json().get("phase").asText()).isEqualTo("placed");
        clock.set(at("12:00:00"));
        hostReport(a6000, one, "pod-f", Map.of("containers", List.of(Map.of("name", "main", "state", "terminated",
                "exitCode", 0, "reason", "Completed"))));
        clock.set(at("20:00:00"));
    }

    @AfterAll
    static void stop() {
        if (restarted != null) {
            restarted.close();
        }
        fx.close();
    }

    @Test
    void perTenantOfferingAndModelToTheSecond() {
        // a 14430 (00:00:00-04:00:30), b 2 x 14410 (01:00:00-05:00:10), f 3600 (11-12): tenant one.
        // d 23400 (03:00-09:30), c 21600 (03:30-09:30, host lost), e 50400 (06:00-now 20:00): tenant two.
        assertThat(usage("groupBy=tenant", ApiFixture.OPERATOR))
                .containsExactly(Map.entry("skg00001", 46850.0), Map.entry("skg00002", 95400.0));
        assertThat(usage("groupBy=offering", ApiFixture.OPERATOR)).containsExactly(
                Map.entry("seeweb-nvidia-1xa100", 45000.0), Map.entry("seeweb-nvidia-1xa6000", 68430.0),
                Map.entry("seeweb-nvidia-2xa6000", 28820.0));
        assertThat(usage("groupBy=model", ApiFixture.OPERATOR)).containsExactly(
                Map.entry(Inventories.A100, 45000.0), Map.entry(Inventories.A6000, 97250.0));
        assertThat(usage("groupBy=tenant,model&tenant=skg00002", ApiFixture.OPERATOR)).containsExactly(
                Map.entry("skg00002/" + Inventories.A100, 45000.0), Map.entry("skg00002/" + Inventories.A6000, 50400.0));
    }

    @Test
    void aTenantSeesItsOwnUsageClippedToTheRange() {
        JsonNode r = http.get("/v1/usage?from=2026-06-01T03:00:00Z&to=2026-06-01T05:00:00Z&groupBy=model", one).json();
        assertThat(r.get("tenant").asText()).isEqualTo("skg00001");
        // a 03:00-04:00:30 (3630 s) and b's two GPUs 03:00-05:00 (2 x 7200 s).
        assertThat(r.get("totalGpuSeconds").asDouble()).as(r.toString()).isEqualTo(18030.0);
        assertThat(r.get("totalGpuHours").asDouble()).isEqualTo(5.008333);
        assertThat(usage("groupBy=offering", two)).containsExactly(
                Map.entry("seeweb-nvidia-1xa100", 45000.0), Map.entry("seeweb-nvidia-1xa6000", 50400.0));
    }

    @Test
    void daysAreCutAtUtcMidnightAndAnOpenIntervalCountsUpToNow() {
        clock.set(Instant.parse("2026-06-02T02:00:00Z"));
        try {
            JsonNode r = http.get("/v1/usage?from=2026-05-31T00:00:00Z&to=2026-06-03T00:00:00Z&groupBy=day,tenant",
                    ApiFixture.OPERATOR).json();
            Map<String, Double> byDay = new LinkedHashMap<>();
            r.get("groups").forEach(g -> byDay.put(g.get("day").asText() + "/" + g.get("tenant").asText(),
                    g.get("gpuSeconds").asDouble()));
            // e runs on: 06:00-24:00 on the first day (64800 s), 00:00-02:00 on the second.
            assertThat(byDay).as(r.toString()).containsExactly(Map.entry("2026-06-01/skg00001", 46850.0),
                    Map.entry("2026-06-01/skg00002", 23400.0 + 21600.0 + 64800.0), Map.entry("2026-06-02/skg00002", 7200.0));
        } finally {
            clock.set(at("20:00:00"));
        }
    }

    @Test
    void everyIntervalEndsWithItsReason() throws SQLException {
        assertThat(workload(two, "pod-c").get("reason").asText()).isEqualTo("HostLost");
        assertThat(reasons()).containsExactly(
                "pod-a deleted 04:00:30", "pod-b evicted 05:00:10", "pod-b evicted 05:00:10", "pod-c host-lost 09:30:00",
                "pod-d host-lost 09:30:00", "pod-e open", "pod-f finished 12:00:00");
    }

    /** Each interval as "pod reason end-time", in pod order. */
    private static List<String> reasons() throws SQLException {
        List<String> out = new ArrayList<>();
        try (Connection c = fx.database.connect(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT pod_uid || ' ' || coalesce(end_reason || ' ' || to_char(ended_at AT TIME ZONE 'UTC',"
                     + " 'HH24:MI:SS'), 'open') FROM usage_intervals ORDER BY pod_uid, allocation_id")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    /** The groups of a whole-day query, keyed by their values joined with '/'. */
    private static Map<String, Double> usage(String query, String token) {
        Http.Response r = http.get("/v1/usage?from=2026-06-01T00:00:00Z&to=2026-06-02T00:00:00Z&" + query.replace(" ", "%20"), token);
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        Map<String, Double> out = new LinkedHashMap<>();
        for (JsonNode g : r.json().get("groups")) {
            StringBuilder key = new StringBuilder();
            g.fieldNames().forEachRemaining(f -> {
                if (!f.startsWith("gpu")) {
                    key.append(key.length() == 0 ? "" : "/").append(g.get(f).asText());
                }
            });
            out.put(key.toString(), g.get("gpuSeconds").asDouble());
        }
        return out;
    }

    private static void create(String token, String uid, String offering, int gpus, String phase) {
        String tenant = token.equals(one) ? "skg00001" : "skg00002";
        Map<String, Object> pod = Pods.pod(uid, uid, offering, List.of(Pods.container("main", gpus, "2", "16Gi")));
        Http.Response r = http.post("/v1/tenants/" + tenant + "/workloads", token, pod);
        assertThat(r.json().get("phase").asText()).as(r.toString()).isEqualTo(phase);
    }

    private static JsonNode workload(String token, String uid) {
        String tenant = token.equals(one) ? "skg00001" : "skg00002";
        return http.get("/v1/tenants/" + tenant + "/workloads/" + uid, token).json();
    }

    private static String phase(String token, String uid) {
        return workload(token, uid).get("phase").asText();
    }

    private static String id(String token, String uid) {
        return workload(token, uid).get("id").asText();
    }

    private static long generation = 0;

    private static void hostReport(Host host, String token, String uid, Map<String, Object> body) {
        Map<String, Object> r = new HashMap<>(body);
        r.put("generation", ++generation);
        Http.Response res = http.put("/v1/hosts/" + host.id() + "/workloads/" + id(token, uid) + "/status", host.token(), r);
        assertThat(res.status()).as(res.toString()).isEqualTo(200);
    }
}
