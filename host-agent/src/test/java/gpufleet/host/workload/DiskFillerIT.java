package gpufleet.host.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.dockerjava.api.DockerClient;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Pods;
import gpufleet.host.SimNvml;
import gpufleet.host.agent.Agent;
import gpufleet.host.agent.AgentConfig;
import gpufleet.host.agent.ControlApiClient;
import gpufleet.host.docker.DockerRuntime;
import gpufleet.host.nvml.NvmlGpuInventory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile pods that fill the disk, through a real control-api and a real agent on Docker: the
 * filler is evicted with the kubelet's reason, its containers removed and its GPU freed, while a
 * neighbour within its limit runs on; and each container's log is bounded by Docker's rotation.
 */
class DiskFillerIT {
    static DockerClient docker;

    @TempDir
    Path state;
    ApiFixture fx;
    Agent agent;
    String tenant;

    @BeforeAll
    static void docker() {
        docker = TestEngine.client();
    }

    @AfterAll
    static void closeDocker() throws Exception {
        docker.close();
    }

    @BeforeEach
    void start() {
        SimNvml.defaults();
        TestEngine.removeManaged(docker);
        fx = ApiFixture.start();
        fx.seedOfferings();
        tenant = fx.tenant("skg00000", List.of("seeweb-nvidia-1xa6000"));
        Map<String, String> env = new HashMap<>();
        env.put("GPUFLEET_CONTROL_API_URL", "http://127.0.0.1:" + fx.api.port());
        env.put("GPUFLEET_JOIN_TOKEN", fx.joinToken());
        env.put("GPUFLEET_STATE_DIR", state.toString());
        env.put("GPUFLEET_HEARTBEAT_INTERVAL", "500ms");
        env.put("GPUFLEET_SWEEP_INTERVAL", "500ms");
        env.put("GPUFLEET_RESYNC_INTERVAL", "300ms");
        env.put("GPUFLEET_RESERVED_CPU", "0");
        env.put("GPUFLEET_RESERVED_MEMORY", "0");
        env.put("GPUFLEET_STREAM_PORT", "0");
        env.put("GPUFLEET_STORAGE_CHECK_INTERVAL", "500ms");
        env.put("GPUFLEET_CONTAINER_LOG_MAX_SIZE", "1Mi");
        env.put("GPUFLEET_CONTAINER_LOG_MAX_FILES", "2");
        AgentConfig config = AgentConfig.fromEnvironment(env, "gpu-disk");
        agent = new Agent(config, new ControlApiClient(config.controlApi()), () -> new NvmlGpuInventory(SimNvml.library()),
                new DockerRuntime(config.dockerHost(), config.runtime()), e -> { });
        agent.start();
        await().atMost(Duration.ofSeconds(15)).until(() -> freeGpus() == 8);
    }

    @AfterEach
    void stop() {
        agent.close();
        fx.close();
        TestEngine.removeManaged(docker);
    }

    private int freeGpus() {
        return fx.http.get("/v1/hosts/gpu-disk", ApiFixture.OPERATOR).json().at("/host/gpus/free").asInt();
    }

    private JsonNode workload(String uid) {
        return fx.http.get("/v1/tenants/skg00000/workloads/" + uid, tenant).json();
    }

    private static Map<String, Object> pod(String uid, String disk, String script) {
        Map<String, Object> c = Pods.container("main", 1, "100m", "128Mi");
        c.put("resources", Map.of("gpus", 1, "cpu", "100m", "memory", "128Mi", "ephemeralStorage", disk));
        c.put("command", List.of("sh", "-c", script));
        Map<String, Object> p = Pods.pod(uid, uid, "seeweb-nvidia-1xa6000", List.of(c));
        p.put("restartPolicy", "Always");
        return p;
    }

    private static int containersOf(String uid) {
        return docker.listContainersCmd().withShowAll(true).withLabelFilter(Map.of("org.gpufleet.pod-uid", uid)).exec().size();
    }

    @Test
    void aPodFillingItsWritableLayerIsEvictedAndItsNeighbourRunsOn() {
        String fill = "dd if=/dev/zero of=/fill bs=1048576 count=64 && exec sleep 3600";
        String calm = "dd if=/dev/zero of=/fill bs=1048576 count=8 && exec sleep 3600";
        assertThat(fx.http.post("/v1/tenants/skg00000/workloads", tenant, pod("uid-filler", "32Mi", fill)).status()).isEqualTo(201);
        assertThat(fx.http.post("/v1/tenants/skg00000/workloads", tenant, pod("uid-calm", "32Mi", calm)).status()).isEqualTo(201);
        await().atMost(Duration.ofSeconds(60)).until(() -> "Evicted".equals(workload("uid-filler").path("reason").asText()));
        JsonNode w = workload("uid-filler");
        assertThat(w.get("phase").asText()).isEqualTo("failed");
        assertThat(w.get("message").asText()).isEqualTo("Container main exceeded its local ephemeral storage limit \"32Mi\".");
        await("the filler's containers are removed, its disk and GPU freed").atMost(Duration.ofSeconds(30))
                .until(() -> containersOf("uid-filler") == 0 && freeGpus() == 7);
        assertThat(workload("uid-calm").get("phase").asText()).as("the neighbour within its limit runs on").isEqualTo("running");
    }

    @Test
    void aContainersLogIsBoundedByRotation() throws Exception {
        String chatty = "i=0; while [ $i -lt 200000 ]; do echo \"line $i 0123456789abcdef0123456789abcdef\"; i=$((i+1)); done;"
                + " exec sleep 3600";
        fx.http.post("/v1/tenants/skg00000/workloads", tenant, pod("uid-chatty", "1Gi", chatty));
        await().atMost(Duration.ofSeconds(60)).until(() -> "running".equals(workload("uid-chatty").path("phase").asText()));
        var c = docker.listContainersCmd().withLabelFilter(Map.of("org.gpufleet.pod-uid", "uid-chatty",
                "org.gpufleet.container", "main")).exec().get(0);
        var log = docker.inspectContainerCmd(c.getId()).exec().getHostConfig().getLogConfig();
        assertThat(log.getType().getType()).isEqualTo("json-file");
        assertThat(log.getConfig()).containsEntry("max-size", "1048576").containsEntry("max-file", "2");
        // Docker's files (readable here, where tests run as root): the log rotated, and no file outgrew the bound.
        Path file = Path.of(docker.inspectContainerCmd(c.getId()).exec().getLogPath());
        Path rotated = Path.of(file + ".1");
        await().atMost(Duration.ofSeconds(60)).until(() -> java.nio.file.Files.exists(rotated));
        assertThat(java.nio.file.Files.exists(Path.of(file + ".2"))).as("at most 2 files").isFalse();
        assertThat(java.nio.file.Files.size(rotated)).isLessThanOrEqualTo((1L << 20) + 4096);
    }
}
