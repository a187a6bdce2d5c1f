package gpufleet.host.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Container;
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
 * A running pod's container gets a new image (PUT .../spec, as the tenant-agent sends a pod
 * update): the host replaces that container only, on the new image, counting a restart; its
 * neighbour in the pod runs on untouched.
 */
class ImageUpdateIT {
    private static final String HOST = "gpu-image-update";
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
        tenant = fx.tenant("skg00000", List.of("seeweb-nvidia-2xa6000"));
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
        await().atMost(Duration.ofSeconds(15)).until(() -> fx.http.get("/v1/hosts/" + HOST, ApiFixture.OPERATOR).json()
                .at("/host/gpus/free").asInt() == 8);
    }

    @AfterEach
    void stop() {
        agent.close();
        fx.close();
        InitContainersIT.removeOf(docker, HOST);
    }

    private JsonNode workload() {
        return fx.http.get("/v1/tenants/skg00000/workloads/uid-img", tenant).json();
    }

    private static Map<String, Object> pod(String mainImage) {
        Map<String, Object> main = Pods.container("main", 1, "100m", "64Mi");
        main.put("image", mainImage);
        main.put("command", List.of("sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"));
        Map<String, Object> side = Pods.container("side", 1, "100m", "64Mi");
        side.put("command", List.of("sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"));
        Map<String, Object> p = Pods.pod("uid-img", "img", "seeweb-nvidia-2xa6000", List.of(main, side));
        p.put("restartPolicy", "Never");
        return p;
    }

    private static Container running(String name) {
        return docker.listContainersCmd().withLabelFilter(Map.of(Labels.POD_UID, "uid-img", Labels.CONTAINER, name)).exec()
                .stream().findFirst().orElse(null);
    }

    @Test
    void aNewImageReplacesOnlyThatContainerWithARestartCounted() {
        assertThat(fx.http.post("/v1/tenants/skg00000/workloads", tenant, pod("gpufleet/busybox:test")).status()).isEqualTo(201);
        await().atMost(Duration.ofSeconds(60)).until(() -> workload().get("phase").asText().equals("running")
                && running("main") != null && running("side") != null);
        Container mainBefore = running("main");
        Container sideBefore = running("side");
        String oldImage = docker.inspectImageCmd("gpufleet/busybox:test").exec().getId();
        assertThat(mainBefore.getImageId()).isEqualTo(oldImage);

        var r = fx.http.put("/v1/tenants/skg00000/workloads/uid-img/spec", tenant, pod("gpufleet/busybox:uid1000"));
        assertThat(r.status()).as(r.toString()).isEqualTo(200);

        String newImage = docker.inspectImageCmd("gpufleet/busybox:uid1000").exec().getId();
        await().atMost(Duration.ofSeconds(60)).until(() -> running("main") != null && newImage.equals(running("main").getImageId()));
        assertThat(running("main").getId()).as("a new container").isNotEqualTo(mainBefore.getId());
        await().atMost(Duration.ofSeconds(30)).until(() -> workload().at("/containers/0/restartCount").asInt() == 1);
        JsonNode w = workload();
        assertThat(w.at("/containers/0/state").asText()).isEqualTo("running");
        assertThat(w.at("/containers/0/image").asText()).isEqualTo("gpufleet/busybox:uid1000");
        assertThat(w.at("/containers/0/lastState/exitCode").asInt()).as("%s", w).isZero();
        assertThat(running("side").getId()).as("its neighbour runs on").isEqualTo(sideBefore.getId());
        assertThat(w.at("/containers/1/restartCount").asInt()).isZero();
    }
}
