package gpufleet.control.workload;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Http;
import gpufleet.control.support.Pods;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Pending placement is fair across tenants: one tenant's many pods that cannot be placed neither
 * fill the pending pass nor cost it an attempt each, so another tenant's pod is placed in the
 * first pass after capacity appears. Passes are run by the test (the timer is set to an hour),
 * so "promptly" is counted in passes, not in wall time.
 */
class FairPlacementIT {
    static final int UNPLACEABLE = 200;

    ApiFixture fx;
    String crowd;
    String small;

    @BeforeEach
    void start() {
        fx = ApiFixture.start(Map.of("GPUFLEET_PLACEMENT_RETRY", "1h"));
        fx.seedOfferings();
        crowd = fx.tenant("crowd", List.of("seeweb-nvidia-1xa100"));
        small = fx.tenant("small", List.of("seeweb-nvidia-1xa6000"));
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    private void create(String tenant, String token, Map<String, Object> pod) {
        Http.Response r = fx.http.post("/v1/tenants/" + tenant + "/workloads", token, pod);
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
        assertThat(r.json().get("phase").asText()).as("no host yet: %s", r).isEqualTo("pending");
    }

    private String phase(String tenant, String token, String uid) {
        return fx.http.get("/v1/tenants/" + tenant + "/workloads/" + uid, token).json().get("phase").asText();
    }

    @Test
    void aTenantsTwoHundredUnplaceablePodsDoNotDelayAnotherTenantsPod() {
        // The crowd's pods come first (the oldest pending work): A100s no host has.
        for (int i = 0; i < UNPLACEABLE; i++) {
            create("crowd", crowd, Pods.pod("a100-" + i, "a100-" + i, "seeweb-nvidia-1xa100",
                    List.of(Pods.container("main", 1, "1", "1Gi"))));
        }
        create("small", small, Pods.seedPod("small-1"));
        fx.seedHost("a6000-01"); // capacity for the small tenant's pod, none for the crowd's

        PendingPlacer.Pass pass = fx.api.placer().pass();

        assertThat(pass).as("the test's pass ran (no timer pass holds the lock)").isNotNull();
        assertThat(phase("small", small, "small-1")).as("the small tenant's pod after one pass: %s", pass).isEqualTo("placed");
        assertThat(pass.placed()).isEqualTo(1);
        assertThat(pass.attempts()).as("one attempt for the crowd's shape, one for the small pod: %s", pass).isLessThanOrEqualTo(2);
        JsonNode crowds = fx.http.get("/v1/tenants/crowd/workloads", crowd).json().get("items");
        assertThat(crowds).hasSize(UNPLACEABLE);
        crowds.forEach(w -> assertThat(w.get("phase").asText()).as(w.toString()).isEqualTo("pending"));
    }
}
