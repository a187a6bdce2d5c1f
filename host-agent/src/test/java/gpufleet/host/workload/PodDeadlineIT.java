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
import java.time.Instant;
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
 * Through a real control-api and a real agent on Docker: init containers shown to the tenant in
 * order, and a pod past its activeDeadlineSeconds failed with the kubelet's reason, its
 * containers stopped and its GPU freed.
 */
class PodDeadlineIT {
    private static final String HOST = "gpu-deadline";
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
        InitContainersIT.removeOf(docker, HOST);
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
        AgentConfig config = AgentConfig.fromEnvironment(env, HOST);
        agent = new Agent(config, new ControlApiClient(config.controlApi()), () -> new NvmlGpuInventory(SimNvml.library()),
                new DockerRuntime(config.dockerHost(), config.runtime()), e -> { });
        agent.start();
        await().atMost(Duration.ofSeconds(15)).until(() -> freeGpus() == 8);
    }

    @AfterEach
    void stop() {
        agent.close();
        fx.close();
        InitContainersIT.removeOf(docker, HOST);
    }

    private int freeGpus() {
        return fx.http.get("/v1/hosts/" + HOST, ApiFixture.OPERATOR).json().at("/host/gpus/free").asInt();
    }

    private JsonNode workload(String uid) {
        return fx.http.get("/v1/tenants/skg00000/workloads/" + uid, tenant).json();
    }

    private static Map<String, Object> pod(String uid, String script, Long deadline) {
        Map<String, Object> main = Pods.container("main", 1, "100m", "64Mi");
        main.put("command", List.of("sh", "-c", script));
        Map<String, Object> init = Pods.container("fetch", 0, "100m", "32Mi");
        init.put("command", List.of("sh", "-c", "sleep 1; echo fetched"));
        Map<String, Object> p = Pods.pod(uid, uid, "seeweb-nvidia-1xa6000", List.of(main));
        p.put("initContainers", List.of(init));
        p.put("restartPolicy", "Always");
        // sleep as a container's first process ignores SIGTERM: a short grace ends the stop at once.
        p.put("terminationGracePeriodSeconds", 2);
        if (deadline != null) {
            p.put("activeDeadlineSeconds", deadline);
        }
        return p;
    }

    private static int containersOf(String uid) {
        return docker.listContainersCmd().withShowAll(true).withLabelFilter(Map.of(Labels.POD_UID, uid)).exec().size();
    }

    @Test
    void theTenantSeesTheInitContainerCompletedBeforeMainStarted() {
        assertThat(fx.http.post("/v1/tenants/skg00000/workloads", tenant, pod("uid-init", "exec sleep 3600", null)).status())
                .isEqualTo(201);
        await().atMost(Duration.ofSeconds(60)).until(() -> workload("uid-init").get("phase").asText().equals("running"));
        JsonNode w = workload("uid-init");
        JsonNode init = w.at("/initContainers/0");
        assertThat(init.get("state").asText()).as("%s", w).isEqualTo("terminated");
        assertThat(init.get("reason").asText()).isEqualTo("Completed");
        assertThat(Instant.parse(w.at("/containers/0/startedAt").asText()))
                .isAfterOrEqualTo(Instant.parse(init.get("finishedAt").asText()));
    }

    @Test
    void aPodPastItsActiveDeadlineFailsWithDeadlineExceededAndItsGpuIsFreed() {
        long t0 = System.nanoTime();
        assertThat(fx.http.post("/v1/tenants/skg00000/workloads", tenant, pod("uid-late", "exec sleep 3600", 3L)).status())
                .isEqualTo(201);
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .until(() -> "DeadlineExceeded".equals(workload("uid-late").path("reason").asText()));
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        JsonNode w = workload("uid-late");
        assertThat(w.get("phase").asText()).isEqualTo("failed");
        assertThat(w.get("message").asText()).isEqualTo("Pod was active on the node longer than the specified deadline");
        assertThat(took).as("counted from the pod's start on the host").isGreaterThanOrEqualTo(Duration.ofSeconds(3));
        await("its containers stopped and its GPU freed").atMost(Duration.ofSeconds(60))
                .until(() -> containersOf("uid-late") == 0 && freeGpus() == 8);
        assertThat(workload("uid-late").get("phase").asText()).isEqualTo("failed");
    }
}
