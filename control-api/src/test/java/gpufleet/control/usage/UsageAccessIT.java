package gpufleet.control.usage;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.ApiFixture.Host;
import gpufleet.control.support.Http;
import gpufleet.control.support.Pods;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Who may read usage, what a bad question gets, and that no caller can write usage. */
class UsageAccessIT {
    static final String RANGE = "from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z";
    static ApiFixture fx;
    static Host host;
    static String one;
    static String two;

    @BeforeAll
    static void start() {
        fx = ApiFixture.start();
        fx.seedOfferings();
        host = fx.seedHost("a6000-01");
        one = fx.tenant("skg00001", List.of("seeweb-nvidia-1xa6000"));
        two = fx.tenant("skg00002", List.of("seeweb-nvidia-1xa6000"));
        assertThat(fx.http.post("/v1/tenants/skg00001/workloads", one, Pods.seedPod("pod-one")).status()).isEqualTo(201);
        assertThat(fx.http.post("/v1/tenants/skg00002/workloads", two, Pods.seedPod("pod-two")).status()).isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    private static Http.Response get(String query, String token) {
        return fx.http.get("/v1/usage?" + query, token);
    }

    @Test
    void aTenantReadsOnlyItsOwnTenant() {
        JsonNode own = get(RANGE + "&groupBy=tenant", one).json();
        assertThat(own.get("groups")).as(own.toString()).hasSize(1);
        assertThat(own.get("groups").get(0).get("tenant").asText()).isEqualTo("skg00001");
        assertThat(get(RANGE + "&tenant=skg00001", one).status()).isEqualTo(200);
        Http.Response other = get(RANGE + "&tenant=skg00002", one);
        assertThat(other.status()).as(other.toString()).isEqualTo(403);
        assertThat(other.json().get("message").asText()).contains("cannot read the usage of tenant skg00002");
        assertThat(get(RANGE + "&tenant=no-such", one).status()).as("a name it does not own, existing or not").isEqualTo(403);
    }

    @Test
    void operatorsReadEveryTenantOrOne() {
        assertThat(get(RANGE + "&groupBy=tenant", ApiFixture.OPERATOR).json().get("groups")).hasSize(2);
        JsonNode only = get(RANGE + "&groupBy=tenant&tenant=skg00002", ApiFixture.OPERATOR).json();
        assertThat(only.get("groups")).as(only.toString()).hasSize(1);
        assertThat(only.get("groups").get(0).get("tenant").asText()).isEqualTo("skg00002");
        Http.Response missing = get(RANGE + "&tenant=no-such", ApiFixture.OPERATOR);
        assertThat(missing.status()).as(missing.toString()).isEqualTo(404);
    }

    @Test
    void hostsAndStrangersReadNothing() {
        assertThat(get(RANGE, host.token()).status()).isEqualTo(403);
        assertThat(get(RANGE, null).status()).isEqualTo(401);
        assertThat(get(RANGE, "gft_not-a-real-token-0123456789abcdef").status()).isEqualTo(401);
    }

    @Test
    void badQuestionsAreRefusedNamingTheReason() {
        Map<String, String> bad = new HashMap<>();
        bad.put("to=2026-02-01T00:00:00Z", "from is required");
        bad.put("from=2026-01-01T00:00:00Z", "to is required");
        bad.put("from=yesterday&to=2026-02-01T00:00:00Z", "from 'yesterday' is not an RFC 3339 time");
        bad.put("from=2026-01-01&to=2026-02-01T00:00:00Z", "from '2026-01-01' is not an RFC 3339 time");
        bad.put("from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "must be after from");
        bad.put("from=2026-02-01T00:00:00Z&to=2026-02-01T00:00:00Z", "must be after from");
        bad.put("from=2025-01-01T00:00:00Z&to=2026-02-05T00:00:01Z", "longer than 400 days");
        bad.put(RANGE + "&groupBy=pod", "groupBy 'pod' is not one of tenant, offering, model, day");
        bad.put(RANGE + "&groupBy=tenant,tenant", "groupBy names tenant twice");
        bad.put(RANGE + "&groupBy=tenant,", "groupBy '' is not one of");
        bad.put(RANGE + "&tenants=skg00001", "unknown query parameter 'tenants'");
        bad.put(RANGE + "&tenant=Bad_Name", "tenant");
        for (Map.Entry<String, String> e : bad.entrySet()) {
            Http.Response r = get(e.getKey(), ApiFixture.OPERATOR);
            assertThat(r.status()).as("%s -> %s", e.getKey(), r).isEqualTo(400);
            assertThat(r.json().get("message").asText()).as(e.getKey()).contains(e.getValue());
        }
        assertThat(get("from=2025-01-01T00:00:00Z&to=2026-02-05T00:00:00Z", ApiFixture.OPERATOR).status())
                .as("exactly 400 days is allowed").isEqualTo(200);
    }

    @Test
    void anAnswerOfMoreThan100000GroupsIsRefused() throws SQLException {
        // 251 tenants each holding a GPU through 400 days, long before the other tests' range:
        // grouped by tenant and day, 100,400 groups; by tenant alone, 251.
        try (Connection c = fx.database.connect(); Statement s = c.createStatement()) {
            s.execute("""
                    INSERT INTO usage_intervals (allocation_id, tenant, cluster, offering, namespace, pod_name, pod_uid, workload_id,
                                                 host_id, gpu_uuid, gpu_model, started_at, ended_at, end_reason)
                    SELECT 1000000 + i, 'many-' || i, 'default', 'o', 'ns', 'p', 'p', gen_random_uuid(), gen_random_uuid(), 'GPU-' || i,
                           'M', '2023-01-01T00:00:00Z', '2023-02-05T00:00:00Z'::timestamptz + interval '365 days', 'deleted'
                    FROM generate_series(1, 251) i""");
        }
        String range = "from=2023-01-01T00:00:00Z&to=2024-02-05T00:00:00Z";
        Http.Response many = get(range + "&groupBy=tenant,day", ApiFixture.OPERATOR);
        assertThat(many.status()).as(many.toString()).isEqualTo(400);
        assertThat(many.json().get("message").asText()).isEqualTo(
                "more than 100000 groups; ask for a shorter range or fewer groups");
        assertThat(get(range + "&groupBy=tenant", ApiFixture.OPERATOR).json().get("groups")).hasSize(251);
    }

    @Test
    void noCallerCanWriteUsage() throws SQLException {
        String before = intervals();
        for (String token : List.of(ApiFixture.OPERATOR, one, host.token())) {
            assertThat(fx.http.post("/v1/usage", token, Map.of("tenant", "skg00001", "gpuSeconds", 1)).status())
                    .as("POST with a %s token", token.substring(0, 4)).isIn(404, 405);
            assertThat(fx.http.delete("/v1/usage", token).status()).isIn(404, 405);
        }
        // The tenant-agent cannot back-date a pod's start, nor the host its end: neither body has such a field.
        Map<String, Object> backdated = new HashMap<>(Pods.seedPod("pod-early"));
        backdated.put("startedAt", "2026-01-01T00:00:00Z");
        assertThat(fx.http.post("/v1/tenants/skg00001/workloads", one, backdated).status()).isEqualTo(400);
        String workload = fx.http.get("/v1/tenants/skg00001/workloads/pod-one", one).json().get("id").asText();
        Map<String, Object> report = Map.of("generation", 1, "gone", true, "endedAt", "2026-01-01T00:00:00Z");
        assertThat(fx.http.put("/v1/hosts/" + host.id() + "/workloads/" + workload + "/status", host.token(), report).status())
                .isEqualTo(400);
        // "gone" for a pod nobody deleted ends nothing: only a delete, a finish or a lost host does.
        Map<String, Object> gone = Map.of("generation", 2, "gone", true);
        assertThat(fx.http.put("/v1/hosts/" + host.id() + "/workloads/" + workload + "/status", host.token(), gone).status())
                .isEqualTo(200);
        assertThat(intervals()).isEqualTo(before);
    }

    private static String intervals() throws SQLException {
        try (Connection c = fx.database.connect(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT string_agg(pod_uid || ' ' || started_at || ' ' || coalesce(ended_at::text, 'open'),"
                     + " ', ' ORDER BY allocation_id) FROM usage_intervals")) {
            rs.next();
            return rs.getString(1);
        }
    }
}
