package gpufleet.control.workload;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.ApiFixture.Host;
import gpufleet.control.support.Http;
import gpufleet.control.support.Pods;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Init containers at the control-api: refused when a kubelet would refuse them, placed by
 * Kubernetes' effective request, their statuses kept, and a pod past its activeDeadlineSeconds
 * failed with the kubelet's reason and its GPUs freed once its host says its containers are gone.
 */
class InitContainersApiIT {
    ApiFixture fx;
    Host host;
    String tenant;

    @BeforeEach
    void start() {
        fx = ApiFixture.start();
        fx.seedOfferings();
        host = fx.seedHost("a6000-01");
        tenant = fx.tenant("skg00000", List.of("seeweb-nvidia-1xa6000", "seeweb-nvidia-2xa6000"));
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    private JsonNode workload(String uid) {
        return fx.http.get("/v1/tenants/skg00000/workloads/" + uid, tenant).json();
    }

    private Http.Response report(String uid, long generation, Map<String, Object> body) {
        Map<String, Object> r = new HashMap<>(body);
        r.put("generation", generation);
        return fx.http.put("/v1/hosts/" + host.id() + "/workloads/" + workload(uid).get("id").asText() + "/status", host.token(), r);
    }

    private static Map<String, Object> withInit(String uid, String offering, Map<String, Object> init, int appGpus) {
        Map<String, Object> p = Pods.pod(uid, "trainer", offering, List.of(Pods.container("main", appGpus, "2", "16Gi")));
        p.put("initContainers", List.of(init));
        p.put("restartPolicy", "Never");
        return p;
    }

    @Test
    void anInitContainerAskingOnFailureIsRefusedNamingTheFieldAndNothingIsStored() {
        Map<String, Object> init = Pods.container("fetch", 0, "1", "1Gi");
        init.put("restartPolicy", "OnFailure");
        Http.Response r = fx.http.post("/v1/tenants/skg00000/workloads", tenant, withInit("uid-bad", "seeweb-nvidia-1xa6000", init, 1));
        assertThat(r.status()).as(r.toString()).isEqualTo(400);
        assertThat(r.body()).contains("initContainers[0].restartPolicy").contains("OnFailure");
        assertThat(fx.http.get("/v1/tenants/skg00000/workloads/uid-bad", tenant).status()).isEqualTo(404);
    }

    @Test
    void aPodHoldsTheGpusOfItsWidestInitContainer() {
        Map<String, Object> init = Pods.container("warmup", 2, "1", "1Gi");
        Http.Response r = fx.http.post("/v1/tenants/skg00000/workloads", tenant, withInit("uid-wide", "seeweb-nvidia-2xa6000", init, 1));
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
        JsonNode w = workload("uid-wide");
        assertThat(w.get("phase").asText()).isEqualTo("placed");
        assertThat(w.at("/gpus/main").size()).as("%s", w).isEqualTo(1);
        assertThat(w.at("/gpus/warmup").size()).as("the second GPU the init container needs: %s", w).isEqualTo(1);
        Http.Response tooWide = fx.http.post("/v1/tenants/skg00000/workloads", tenant,
                withInit("uid-wider", "seeweb-nvidia-1xa6000", Pods.container("warmup", 2, "1", "1Gi"), 1));
        assertThat(tooWide.status()).as("2 GPUs on a 1-GPU class: %s", tooWide).isEqualTo(400);
    }

    @Test
    void initStatusesAreKeptAndAFailedInitContainerUnderNeverFailsThePod() {
        fx.http.post("/v1/tenants/skg00000/workloads", tenant, withInit("uid-init", "seeweb-nvidia-1xa6000",
                Pods.container("fetch", 0, "1", "1Gi"), 1));
        Map<String, Object> initializing = Map.of("name", "main", "state", "waiting", "reason", "PodInitializing");
        report("uid-init", 1, Map.of("containers", List.of(initializing),
                "initContainers", List.of(Map.of("name", "fetch", "state", "running"))));
        JsonNode w = workload("uid-init");
        assertThat(w.get("phase").asText()).as("Pending while initializing").isEqualTo("placed");
        assertThat(w.at("/initContainers/0/name").asText()).isEqualTo("fetch");
        assertThat(w.at("/initContainers/0/state").asText()).isEqualTo("running");
        report("uid-init", 2, Map.of("containers", List.of(initializing), "initContainers", List.of(
                Map.of("name", "fetch", "state", "terminated", "exitCode", 1, "reason", "Error"))));
        JsonNode failed = workload("uid-init");
        assertThat(failed.get("phase").asText()).isEqualTo("failed");
        assertThat(failed.get("gpus").size()).as("its GPU released: %s", failed).isZero();
    }

    @Test
    void aPodPastItsDeadlineFailsWithTheKubeletsReasonAndFreesItsGpuOnceGone() {
        fx.http.post("/v1/tenants/skg00000/workloads", tenant, Pods.seedPod("uid-late"));
        String id = workload("uid-late").get("id").asText();
        String message = "Pod was active on the node longer than the specified deadline";
        Http.Response r = fx.http.post("/v1/hosts/" + host.id() + "/workloads/" + id + "/eviction", host.token(),
                Map.of("message", message, "reason", "DeadlineExceeded"));
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
        JsonNode w = workload("uid-late");
        assertThat(w.get("phase").asText()).isEqualTo("failed");
        assertThat(w.get("reason").asText()).isEqualTo("DeadlineExceeded");
        assertThat(w.get("message").asText()).isEqualTo(message);
        assertThat(w.get("deletionRequested").asBoolean()).as("the host stops its containers").isTrue();
        report("uid-late", 1, Map.of("gone", true));
        JsonNode gone = workload("uid-late");
        assertThat(gone.get("phase").asText()).as("stays failed, as the pod shows it").isEqualTo("failed");
        assertThat(gone.get("reason").asText()).isEqualTo("DeadlineExceeded");
        assertThat(gone.get("gpus").size()).isZero();
        assertThat(fx.http.get("/v1/tenants/skg00000/node", tenant).json().at("/allocatable/nvidia.com~1gpu").asText()).isEqualTo("8");
    }
}
