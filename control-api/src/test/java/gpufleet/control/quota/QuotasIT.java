package gpufleet.control.quota;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.control.http.ApiException;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Http;
import gpufleet.control.support.Pods;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A tenant's counted limits: workloads, routes and concurrent streams, each refused past its
 * limit with 403 "exceeded quota" naming the quota, what is used and the limit, and nothing
 * stored. Defaults come from configuration (here: 1 route), operators set a tenant's own.
 */
class QuotasIT {
    static final String SERVICE_1 = "8d0a8f33-e9f9-434a-b3de-9ae58ac9de76";
    static final String SERVICE_2 = "1b7e4c2a-0f3d-4e5b-9a6c-7d8e9f0a1b2c";

    ApiFixture fx;
    String token;

    @BeforeEach
    void start() {
        fx = ApiFixture.start(Map.of("GPUFLEET_TENANT_MAX_ROUTES", "1", "GPUFLEET_TENANT_MAX_STREAMS", "3"));
        fx.seedOfferings();
        fx.seedHost("a6000-01");
        token = fx.tenant("capped", List.of("seeweb-nvidia-1xa6000"));
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    private Http.Response limits(Map<String, Object> body) {
        return fx.http.put("/v1/tenants/capped/limits", ApiFixture.OPERATOR, body);
    }

    private Http.Response create(String uid) {
        return fx.http.post("/v1/tenants/capped/workloads", token, Pods.seedPod(uid));
    }

    private int stored() {
        return fx.http.get("/v1/tenants/capped/workloads", token).json().get("items").size();
    }

    @Test
    void aTenantOverItsWorkloadQuotaIsRefusedAndNothingIsStored() {
        Http.Response set = limits(Map.of("maxWorkloads", 2));
        assertThat(set.status()).as(set.toString()).isEqualTo(200);
        assertThat(set.json().at("/limits/maxWorkloads").asInt()).isEqualTo(2);
        assertThat(create("w-1").status()).isEqualTo(201);
        assertThat(create("w-2").status()).isEqualTo(201);

        Http.Response over = create("w-3");

        assertThat(over.status()).as(over.toString()).isEqualTo(403);
        assertThat(over.message()).contains("exceeded quota: workloads of tenant capped", "used: 2", "limited: 2");
        assertThat(stored()).as("the refused pod was not stored").isEqualTo(2);
        assertThat(create("w-1").status()).as("the same pod again is no new workload: answered, not refused").isEqualTo(200);
    }

    @Test
    void podsArrivingTogetherAreCountedInTheBatchAndOnlyTheLimitIsStored() {
        limits(Map.of("maxWorkloads", 3));
        List<CompletableFuture<Http.Response>> all = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            String uid = "burst-" + i;
            all.add(CompletableFuture.supplyAsync(() -> create(uid)));
        }
        List<Integer> statuses = all.stream().map(f -> f.join().status()).toList();

        assertThat(statuses.stream().filter(s -> s == 201).count()).as("statuses %s", statuses).isEqualTo(3);
        assertThat(statuses.stream().filter(s -> s == 403).count()).as("statuses %s", statuses).isEqualTo(9);
        assertThat(stored()).isEqualTo(3);
    }

    /**
     * A tenant with plenty of room has its creates counted after they are placed (so that two
     * batches of it run at once); the room it had is only a hint. Lowered meanwhile, the quota
     * still holds: the batches that went over are undone and counted again first.
     */
    @Test
    void aQuotaLoweredWhileTheTenantHadRoomStillHoldsForPodsArrivingTogether() throws Exception {
        limits(Map.of("maxWorkloads", 1000));
        assertThat(create("first").status()).isEqualTo(201);
        limits(Map.of("maxWorkloads", 4));
        ExecutorService clients = Executors.newFixedThreadPool(12);
        try {
            List<Future<Http.Response>> all = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                String uid = "late-" + i;
                all.add(clients.submit(() -> create(uid)));
            }
            List<Integer> statuses = new ArrayList<>();
            for (Future<Http.Response> f : all) {
                statuses.add(f.get().status());
            }
            assertThat(statuses.stream().filter(s -> s == 201).count()).as("statuses %s", statuses).isEqualTo(3);
            assertThat(statuses.stream().filter(s -> s == 403).count()).as("statuses %s", statuses).isEqualTo(9);
            assertThat(stored()).isEqualTo(4);
        } finally {
            clients.shutdownNow();
        }
    }

    @Test
    void aTenantOverItsRouteQuotaIsRefusedWhileReplacingItsRouteIsNot() {
        Map<String, Object> route = Map.of("namespace", "default", "name", "web", "port", 80,
                "targets", List.of(Map.of("podUid", "web-1", "port", 8080)));
        Http.Response first = fx.http.put("/v1/tenants/capped/routes/" + SERVICE_1, token, route);
        assertThat(first.status()).as(first.toString()).isEqualTo(200);

        Http.Response second = fx.http.put("/v1/tenants/capped/routes/" + SERVICE_2, token, route);

        assertThat(second.status()).as(second.toString()).isEqualTo(403);
        assertThat(second.message()).contains("exceeded quota: routes of tenant capped", "used: 1", "limited: 1");
        Http.Response replaced = fx.http.put("/v1/tenants/capped/routes/" + SERVICE_1, token,
                Map.of("namespace", "default", "name", "web", "port", 81, "targets", List.of()));
        assertThat(replaced.status()).as("the same Service again: " + replaced).isEqualTo(200);
        assertThat(fx.http.get("/v1/tenants/capped/routes", token).json().get("items")).hasSize(1);
        assertThat(fx.http.get("/v1/tenants/capped/routes/" + SERVICE_2, token).status()).isEqualTo(404);
    }

    @Test
    void streamsPastTheLimitAreRefusedUntilOneEnds() {
        limits(Map.of("maxStreams", 2));
        StreamQuota quota = fx.api.streamQuota();
        StreamQuota.Permit one = quota.acquire("capped");
        StreamQuota.Permit two = quota.acquire("capped");

        assertThatThrownBy(() -> quota.acquire("capped")).isInstanceOf(ApiException.class)
                .hasMessageContaining("exceeded quota: concurrent streams of tenant capped")
                .hasMessageContaining("used: 2").hasMessageContaining("limited: 2");
        one.close();
        one.close(); // a second close gives nothing back twice
        assertThat(quota.open("capped")).isEqualTo(1);
        quota.acquire("capped").close();
        two.close();
        assertThat(quota.open("capped")).isZero();
    }

    @Test
    void limitsComeFromConfigurationUntilTheOperatorSetsThemAndOnlyOperatorsMay() {
        JsonNode view = fx.http.get("/v1/tenants/capped", token).json();
        assertThat(view.at("/limits/maxWorkloads").asInt()).as("the default").isEqualTo(1000);
        assertThat(view.at("/limits/maxRoutes").asInt()).as("GPUFLEET_TENANT_MAX_ROUTES").isEqualTo(1);
        assertThat(view.at("/limits/maxStreams").asInt()).as("GPUFLEET_TENANT_MAX_STREAMS").isEqualTo(3);

        assertThat(fx.http.put("/v1/tenants/capped/limits", token, Map.of("maxWorkloads", 5000)).status())
                .as("a tenant cannot raise its own limits").isEqualTo(403);
        Http.Response negative = limits(Map.of("maxRoutes", -1));
        assertThat(negative.status()).as(negative.toString()).isEqualTo(400);
        assertThat(negative.json().get("field").asText()).isEqualTo("maxRoutes");
        assertThat(limits(Map.of("maxRoutes", 7)).json().at("/limits/maxRoutes").asInt()).isEqualTo(7);
        Map<String, Object> reset = new HashMap<>();
        reset.put("maxRoutes", null);
        assertThat(limits(reset).json().at("/limits/maxRoutes").asInt()).as("null: the default again").isEqualTo(1);
        assertThat(fx.http.put("/v1/tenants/nobody/limits", ApiFixture.OPERATOR, Map.of()).status()).isEqualTo(404);
    }
}
