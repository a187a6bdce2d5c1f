package gpufleet.control.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.ApiFixture.Host;
import gpufleet.control.support.Pods;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A pod that finished gives back its GPUs, cpu and memory when its host reports the end, not when
 * the pod is deleted; deleting it later frees nothing twice and ends it as deleted.
 */
class FinishedWorkloadsIT {
    ApiFixture fx;
    Host host;
    String tenant;

    @BeforeEach
    void start() {
        fx = ApiFixture.start();
        fx.seedOfferings();
        host = fx.seedHost("a6000-01");
        tenant = fx.tenant("skg00000", List.of("seeweb-nvidia-1xa6000"));
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    private JsonNode workload(String uid) {
        return fx.http.get("/v1/tenants/skg00000/workloads/" + uid, tenant).json();
    }

    private JsonNode free() {
        return fx.http.get("/v1/tenants/skg00000/node", tenant).json().get("allocatable");
    }

    private String report(String uid, long generation, Map<String, Object> body) {
        Map<String, Object> r = new java.util.HashMap<>(body);
        r.put("generation", generation);
        return fx.http.put("/v1/hosts/" + host.id() + "/workloads/" + workload(uid).get("id").asText() + "/status",
                host.token(), r).toString();
    }

    private static Map<String, Object> exited(int code) {
        return Map.of("containers", List.of(Map.of("name", "nvidia", "state", "terminated", "exitCode", code,
                "reason", code == 0 ? "Completed" : "Error")));
    }

    private Map<String, Object> jobPod(String uid) {
        Map<String, Object> p = Pods.seedPod(uid);
        p.put("restartPolicy", "Never");
        return p;
    }

    @Test
    void aJobThatCompletedFreesItsGpuCpuAndMemoryAtOnceAndTheWaitingPodTakesThem() {
        for (int i = 0; i < 8; i++) {
            assertThat(fx.http.post("/v1/tenants/skg00000/workloads", tenant, jobPod("job-" + i)).json().get("phase").asText())
                    .isEqualTo("placed");
        }
        assertThat(fx.http.post("/v1/tenants/skg00000/workloads", tenant, jobPod("next")).json().get("phase").asText())
                .isEqualTo("pending");
        JsonNode plain = fx.http.get("/v1/tenants/skg00000/node", tenant).json();
        assertThat(plain.has("waiting")).as("agents that do not ask never see the field: %s", plain).isFalse();
        JsonNode waiting = fx.http.get("/v1/tenants/skg00000/node?include=waiting", tenant).json().get("waiting");
        assertThat(waiting.get("nvidia.com/gpu").asText()).as("the unplaced pod's room: %s", waiting).isEqualTo("1");
        assertThat(waiting.get("cpu").asText()).isEqualTo("2");
        String cpuBefore = free().get("cpu").asText();
        report("job-0", 1, Map.of("containers", List.of(Map.of("name", "nvidia", "state", "running"))));
        report("job-0", 2, exited(0));

        JsonNode done = workload("job-0");
        assertThat(done.get("phase").asText()).isEqualTo("succeeded");
        assertThat(done.get("gpus").size()).as("its GPUs are released: %s", done).isZero();
        assertThat(done.get("deletionRequested").asBoolean()).isFalse();
        await("the waiting pod placed on the freed GPU").atMost(Duration.ofSeconds(30))
                .until(() -> workload("next").get("phase").asText().equals("placed"));
        assertThat(free().get("cpu").asText()).as("job-0's 2 cpu went to the next pod, not lost").isEqualTo(cpuBefore);
        assertThat(fx.http.get("/v1/tenants/skg00000/node?include=waiting", tenant).json().at("/waiting/nvidia.com~1gpu").asText())
                .isEqualTo("0");

        // The finished pod's containers stay on the host (for its logs) until it is deleted.
        JsonNode desired = fx.http.get("/v1/hosts/" + host.id() + "/workloads", host.token()).json();
        assertThat(desired.get("workloads").findValuesAsText("podUid")).contains("job-0");
    }

    @Test
    void aFinishedPodStaysFinishedAndItsDeletionFreesNothingTwice() {
        fx.http.post("/v1/tenants/skg00000/workloads", tenant, jobPod("job-a"));
        fx.http.post("/v1/tenants/skg00000/workloads", tenant, jobPod("job-b"));
        String id = workload("job-a").get("id").asText();
        String gpu = workload("job-a").at("/gpus/nvidia/0").asText();
        report("job-a", 1, exited(3));
        assertThat(workload("job-a").get("phase").asText()).isEqualTo("failed");
        assertThat(free().get("nvidia.com/gpu").asText()).isEqualTo("7");
        String releasedAt = allocation(gpu).get("releasedAt").asText();
        assertThat(releasedAt).as("released when it finished").isNotEqualTo("null");
        report("job-a", 2, Map.of("containers", List.of(Map.of("name", "nvidia", "state", "waiting", "reason", "ContainerCreating"))));
        assertThat(workload("job-a").get("phase").asText()).as("a finished pod never runs again").isEqualTo("failed");

        fx.http.delete("/v1/tenants/skg00000/workloads/job-a", tenant);
        report("job-a", 3, Map.of("gone", true));
        JsonNode gone = fx.http.get("/v1/workloads/" + id, ApiFixture.OPERATOR).json().get("workload");
        assertThat(gone.get("phase").asText()).isEqualTo("deleted");
        assertThat(gone.get("deletedAt").asText()).isNotEqualTo("null");
        assertThat(allocation(gpu).get("releasedAt").asText()).as("released once, when it finished").isEqualTo(releasedAt);
        assertThat(workload("job-b").get("gpus").get("nvidia")).as("job-b keeps its GPU").hasSize(1);
        assertThat(free().get("nvidia.com/gpu").asText()).isEqualTo("7");
        assertThat(free().get("cpu").asText()).isEqualTo("61");
    }

    /** The GPU's latest allocation, as an operator reads it. */
    private JsonNode allocation(String gpu) {
        return fx.http.get("/v1/gpus/" + gpu, ApiFixture.OPERATOR).json().get("allocations").get(0);
    }
}
