package gpufleet.control.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.ApiFixture.Host;
import gpufleet.control.support.Http;
import gpufleet.control.support.Pods;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Tenants' pods become placed workloads with pinned GPUs; hosts learn them and report back. */
class WorkloadsIT {
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

    private Http.Response create(Map<String, Object> pod) {
        return fx.http.post("/v1/tenants/skg00000/workloads", tenant, pod);
    }

    private JsonNode node() {
        return fx.http.get("/v1/tenants/skg00000/node", tenant).json().get("allocatable");
    }

    @Test
    void theSeedPodIsPlacedOnOneGpuAndAllocatableDropsToTheSeedsNumbers() {
        Http.Response r = create(Pods.seedPod("uid-1"));
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
        JsonNode w = r.json();
        assertThat(w.get("phase").asText()).isEqualTo("placed");
        assertThat(w.get("hostId").asText()).isEqualTo(host.id());
        assertThat(w.at("/gpus/nvidia")).hasSize(1);
        assertThat(w.at("/gpus/nvidia/0").asText()).startsWith("GPU-");
        JsonNode alloc = node();
        assertThat(alloc.get("cpu").asText()).isEqualTo("61");
        assertThat(alloc.get("memory").asText()).isEqualTo("246789840Ki");
        assertThat(alloc.get("nvidia.com/gpu").asText()).isEqualTo("7");
        assertThat(alloc.get("pods").asText()).isEqualTo("7");

        Http.Response again = create(Pods.seedPod("uid-1"));
        assertThat(again.status()).as("same pod UID: the same workload").isEqualTo(200);
        assertThat(again.json().get("id").asText()).isEqualTo(w.get("id").asText());
        assertThat(node().get("nvidia.com/gpu").asText()).isEqualTo("7");
    }

    @Test
    void twoGpusOnTheOneGpuClassAreRefusedWithTheNumbers() {
        Http.Response r = create(Pods.pod("uid-big", "nvidia-smi-unschedulable", "seeweb-nvidia-1xa6000",
                List.of(Pods.container("nvidia", 2, "1", "64Gi"))));
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.message()).isEqualTo("pod default/nvidia-smi-unschedulable asks for 2 GPU(s), 1 cpu and 64Gi memory;"
                + " offering seeweb-nvidia-1xa6000 allows 1 to 1 GPU(s), at most 8000m cpu and 32861620Ki memory");
        assertThat(fx.http.get("/v1/tenants/skg00000/workloads", tenant).json().get("items")).isEmpty();
        assertThat(node().get("nvidia.com/gpu").asText()).isEqualTo("8");
    }

    @Test
    void twoContainersWithOneGpuEachOnTheTwoGpuClassGetTheirOwnGpus() {
        Http.Response r = create(Pods.pod("uid-double", "nvidia-smi-double", "seeweb-nvidia-2xa6000",
                List.of(Pods.container("nvidia-one", 1, "1", "16Gi"), Pods.container("nvidia-two", 1, "1", "16Gi"))));
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
        JsonNode gpus = r.json().get("gpus");
        assertThat(gpus.get("nvidia-one")).hasSize(1);
        assertThat(gpus.get("nvidia-two")).hasSize(1);
        assertThat(gpus.get("nvidia-one").get(0).asText()).isNotEqualTo(gpus.get("nvidia-two").get(0).asText());
    }

    @Test
    void whenTheGpusRunOutAPodWaitsPendingWithTheReasonAndIsPlacedWhenOneFrees() {
        for (int i = 0; i < 8; i++) {
            assertThat(create(Pods.seedPod("uid-" + i)).json().get("phase").asText()).isEqualTo("placed");
        }
        JsonNode waiting = create(Pods.seedPod("uid-8")).json();
        assertThat(waiting.get("phase").asText()).isEqualTo("pending");
        assertThat(waiting.get("reason").asText()).isEqualTo("Unschedulable");
        assertThat(waiting.get("message").asText()).isEqualTo("no ready host has 1 free NVIDIA RTX A6000; none has any free");
        assertThat(node().get("pods").asText()).isEqualTo("0");

        // Deleting frees the GPU only once the host confirms the containers are gone.
        JsonNode deleting = fx.http.delete("/v1/tenants/skg00000/workloads/uid-0", tenant).json();
        assertThat(deleting.get("deletionRequested").asBoolean()).isTrue();
        assertThat(fx.http.get("/v1/tenants/skg00000/workloads/uid-8", tenant).json().get("phase").asText()).isEqualTo("pending");
        JsonNode desired = fx.http.get("/v1/hosts/" + host.id() + "/workloads", host.token()).json();
        JsonNode stopping = null;
        for (JsonNode w : desired.get("workloads")) {
            if (w.get("podUid").asText().equals("uid-0")) {
                stopping = w;
            }
        }
        assertThat(stopping.get("stop").asBoolean()).isTrue();
        Http.Response gone = fx.http.put("/v1/hosts/" + host.id() + "/workloads/" + stopping.get("id").asText() + "/status",
                host.token(), Map.of("generation", 5, "gone", true, "containers", List.of(Map.of("name", "nvidia",
                        "state", "terminated", "reason", "Error", "exitCode", 143))));
        assertThat(gone.status()).as(gone.toString()).isEqualTo(200);
        JsonNode deleted = fx.http.get("/v1/tenants/skg00000/workloads/uid-0", tenant).json();
        assertThat(deleted.get("phase").asText()).isEqualTo("deleted");
        assertThat(deleted.at("/containers/0/state").asText()).as("a deleted pod's containers read terminated").isEqualTo("terminated");
        await().atMost(Duration.ofSeconds(5)).until(() ->
                fx.http.get("/v1/tenants/skg00000/workloads/uid-8", tenant).json().get("phase").asText().equals("placed"));
    }

    @Test
    void aHostWithFreeGpusButNoCpuLeftIsNamedInTheReason() {
        for (int i = 0; i < 7; i++) {
            Http.Response r = create(Pods.pod("uid-cpu-" + i, "big", "seeweb-nvidia-1xa6000", List.of(Pods.container("c", 1, "8", "1Gi"))));
            assertThat(r.json().get("phase").asText()).isEqualTo("placed");
        }
        JsonNode eighth = create(Pods.pod("uid-cpu-7", "big", "seeweb-nvidia-1xa6000", List.of(Pods.container("c", 1, "8", "1Gi")))).json();
        assertThat(eighth.get("phase").asText()).isEqualTo("pending");
        assertThat(eighth.get("message").asText()).isEqualTo("hosts with 1 free NVIDIA RTX A6000 lack cpu or memory:"
                + " the pod needs 8 cpu and 1Gi memory; a6000-01 has 7 cpu and 256227024Ki memory free");
    }

    @Test
    void hostsLongPollTheirWorkloadsAndReportStatusInGenerationOrder() {
        JsonNode before = fx.http.get("/v1/hosts/" + host.id() + "/workloads", host.token()).json();
        long version = before.get("version").asLong();
        assertThat(before.get("workloads")).isEmpty();
        CompletableFuture<Http.Response> poll = CompletableFuture.supplyAsync(() ->
                fx.http.get("/v1/hosts/" + host.id() + "/workloads?version=" + version + "&waitSeconds=60", host.token()));
        UUID hostId = UUID.fromString(host.id());
        await("the poll parked on the server").atMost(Duration.ofSeconds(30)).until(() -> fx.api.wakeups().waiting(hostId) == 1);
        assertThat(poll).as("a poll at the current version waits").isNotDone();
        create(Pods.seedPod("uid-poll"));
        // The poll would answer by itself only after 60 s; well before that, only the placement can have woken it.
        assertThat(poll).as("woken by the placement, not the timeout").succeedsWithin(Duration.ofSeconds(30));
        JsonNode woke = poll.join().json();
        assertThat(woke.get("version").asLong()).isGreaterThan(version);
        JsonNode w = woke.get("workloads").get(0);
        assertThat(w.at("/spec/containers/0/image").asText()).isEqualTo("gpufleet/busybox:test");
        assertThat(w.at("/gpus/nvidia")).hasSize(1);
        String path = "/v1/hosts/" + host.id() + "/workloads/" + w.get("id").asText() + "/status";

        Map<String, Object> running = Map.of("name", "nvidia", "state", "running", "restartCount", 0, "ready", true,
                "startedAt", "2026-11-28T10:00:00Z", "containerId", "docker://abc");
        assertThat(fx.http.put(path, host.token(), Map.of("generation", 2, "containers", List.of(running))).json()
                .get("applied").asBoolean()).isTrue();
        Map<String, Object> stale = Map.of("name", "nvidia", "state", "waiting", "reason", "ContainerCreating");
        assertThat(fx.http.put(path, host.token(), Map.of("generation", 1, "containers", List.of(stale))).json()
                .get("applied").asBoolean()).isFalse();
        JsonNode seen = fx.http.get("/v1/tenants/skg00000/workloads/uid-poll", tenant).json();
        assertThat(seen.get("phase").asText()).isEqualTo("running");
        assertThat(seen.at("/containers/0/state").asText()).isEqualTo("running");

        Map<String, Object> done = Map.of("name", "nvidia", "state", "terminated", "exitCode", 0, "reason", "Completed");
        fx.http.put(path, host.token(), Map.of("generation", 3, "containers", List.of(done)));
        assertThat(fx.http.get("/v1/tenants/skg00000/workloads/uid-poll", tenant).json().get("phase").asText()).isEqualTo("succeeded");

        Host other = fx.seedHost("a6000-02");
        Http.Response foreign = fx.http.put("/v1/hosts/" + other.id() + "/workloads/" + w.get("id").asText() + "/status",
                other.token(), Map.of("generation", 9, "containers", List.of(done)));
        assertThat(foreign.status()).isEqualTo(404);
    }

    @Test
    void tenantsNeverSeeEachOthersWorkloads() {
        fx.offering("other-1xa6000", "NVIDIA RTX A6000", 1, "8", "32Gi");
        String other = fx.tenant("other", List.of("other-1xa6000"));
        create(Pods.seedPod("uid-mine"));
        assertThat(fx.http.get("/v1/tenants/skg00000/workloads/uid-mine", other).status()).isEqualTo(403);
        assertThat(fx.http.get("/v1/tenants/other/workloads/uid-mine", other).status()).isEqualTo(404);
        assertThat(fx.http.delete("/v1/tenants/skg00000/workloads/uid-mine", other).status()).isEqualTo(403);
        assertThat(fx.http.get("/v1/tenants/other/workloads", other).json().get("items")).isEmpty();
        Http.Response notOffered = fx.http.post("/v1/tenants/other/workloads", other, Pods.seedPod("uid-x"));
        assertThat(notOffered.status()).isEqualTo(400);
        assertThat(notOffered.message()).isEqualTo("offering seeweb-nvidia-1xa6000 is not available to tenant other");
    }
}
