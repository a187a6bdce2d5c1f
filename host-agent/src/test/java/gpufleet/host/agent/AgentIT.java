package gpufleet.host.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.control.ControlApi;
import gpufleet.control.support.ApiFixture;
import gpufleet.host.SimNvml;
import gpufleet.host.docker.DockerRuntime;
import gpufleet.host.nvml.NvmlGpuInventory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A real host-agent on the simulated NVML and the real Docker Engine, reporting to a real control-api on PostgreSQL. */
class AgentIT {
    static final String DOCKER = "unix:///var/run/docker.sock";
    /** A short heartbeat grace, so that a host that stops heartbeating shows within seconds. */
    static final Map<String, String> LIVENESS = Map.of("GPUFLEET_HEARTBEAT_GRACE", "3s", "GPUFLEET_LOST_AFTER", "20s");

    @TempDir
    Path state;
    ApiFixture fx;
    Agent agent;

    @BeforeEach
    void start() {
        SimNvml.defaults();
        fx = ApiFixture.start(LIVENESS);
    }

    @AfterEach
    void stop() {
        if (agent != null) {
            agent.close();
        }
        fx.close();
        SimNvml.defaults();
    }

    private Agent agent(String name, String library, String dockerHost, String runtime) {
        Map<String, String> env = new HashMap<>();
        env.put("GPUFLEET_CONTROL_API_URL", "http://127.0.0.1:" + fx.api.port());
        env.put("GPUFLEET_JOIN_TOKEN", fx.joinToken());
        env.put("GPUFLEET_STATE_DIR", state.toString());
        env.put("GPUFLEET_HEARTBEAT_INTERVAL", "300ms");
        env.put("GPUFLEET_SWEEP_INTERVAL", "200ms");
        env.put("GPUFLEET_TELEMETRY_INTERVAL", "1s");
        env.put("GPUFLEET_DOCKER_CHECK_INTERVAL", "1s");
        env.put("GPUFLEET_STREAM_PORT", "0");
        AgentConfig config = AgentConfig.fromEnvironment(env, name);
        Agent a = new Agent(config, new ControlApiClient(config.controlApi()), () -> new NvmlGpuInventory(library),
                new DockerRuntime(dockerHost, runtime), e -> { });
        a.start();
        return a;
    }

    private JsonNode host(String name) {
        return fx.http.get("/v1/hosts/" + name, ApiFixture.OPERATOR).json();
    }

    private static String condition(JsonNode host, String type, String field) {
        for (JsonNode c : host.at("/host/conditions")) {
            if (c.get("type").asText().equals(type)) {
                return c.path(field).asText();
            }
        }
        return null;
    }

    @Test
    void theHostAndItsEightGpusAppearAndTheCredentialIsPrivate() throws Exception {
        agent = agent("gpu-sim-01", SimNvml.library(), DOCKER, "nvidia");
        await().atMost(Duration.ofSeconds(15)).until(() -> host("gpu-sim-01").path("gpus").size() == 8
                && "True".equals(condition(host("gpu-sim-01"), "ContainerRuntimeReady", "status")));
        JsonNode h = host("gpu-sim-01");
        assertThat(h.at("/host/state").asText()).isEqualTo("ready");
        assertThat(h.at("/host/driverVersion").asText()).isEqualTo("550.127.05");
        assertThat(h.at("/host/gpus/free").asInt()).isEqualTo(8);
        assertThat(h.get("gpus").get(0).get("model").asText()).isEqualTo("NVIDIA RTX A6000");
        assertThat(h.get("gpus").get(1).get("topology").toString()).contains("NVLINK");
        assertThat(condition(h, "NvmlReady", "status")).isEqualTo("True");
        assertThat(condition(h, "ContainerRuntimeReady", "status")).isEqualTo("True");
        assertThat(condition(h, "PodNetworkIsolated", "status")).as("the agent put its pod firewall in place").isEqualTo("True");
        assertThat(condition(h, "ContainerRuntimeReady", "message")).contains("runtime 'nvidia'");
        Path cred = state.resolve("credential.json");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(cred))).isEqualTo("rw-------");

        String id = h.at("/host/id").asText();
        agent.close();
        agent = agent("gpu-sim-01", SimNvml.library(), DOCKER, "nvidia");
        await().atMost(Duration.ofSeconds(10)).until(() -> host("gpu-sim-01").at("/host/inventoryGeneration").asLong()
                > h.at("/host/inventoryGeneration").asLong());
        assertThat(host("gpu-sim-01").at("/host/id").asText()).as("restarted agent keeps its identity").isEqualTo(id);
        assertThat(fx.http.get("/v1/tokens?role=host", ApiFixture.OPERATOR).json().get("items"))
                .as("no re-registration: one host credential").hasSize(1);
    }

    @Test
    void aGpuLostOrRaisingXid79ShowsUnhealthyWithItsReasonWithinSeconds() {
        agent = agent("gpu-sim-02", SimNvml.library(), DOCKER, "nvidia");
        await().atMost(Duration.ofSeconds(15)).until(() -> host("gpu-sim-02").path("gpus").size() == 8);
        SimNvml.configure("fault gpu 2 lost\nevent gpu 7 xid 79\n");
        // "Within seconds": a sweep is 200 ms here; the deadline is generous for a loaded machine.
        await().atMost(Duration.ofSeconds(15)).until(() -> host("gpu-sim-02").at("/host/gpus/unhealthy").asInt() == 2);
        JsonNode gpus = fx.http.get("/v1/gpus?host=gpu-sim-02&state=unhealthy", ApiFixture.OPERATOR).json().get("items");
        assertThat(gpus.findValuesAsText("healthReason")).anySatisfy(r -> assertThat(r).startsWith("GPU is lost"))
                .contains("Xid 79: GPU has fallen off the bus");
    }

    @Test
    void theAgentRecoversByItselfWhenTheControlApiComesBack() {
        int port = fx.api.port();
        agent = agent("gpu-sim-03", SimNvml.library(), DOCKER, "nvidia");
        await().atMost(Duration.ofSeconds(15)).until(() -> host("gpu-sim-03").path("gpus").size() == 8);
        fx.api.close();
        SimNvml.configure("fault gpu 1 lost\n");
        // The agent must have found the control-api gone before it comes back.
        long failed = agent.progress().heartbeatsFailed();
        await().atMost(Duration.ofSeconds(30)).until(() -> agent.progress().heartbeatsFailed() >= failed + 2);
        Map<String, String> samePort = new HashMap<>(LIVENESS);
        samePort.put("GPUFLEET_LISTEN", "127.0.0.1:" + port);
        try (ControlApi again = ControlApi.start(ApiFixture.config(fx.database, samePort))) {
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                JsonNode h = host("gpu-sim-03");
                return h.at("/host/state").asText().equals("ready") && h.at("/host/gpus/unhealthy").asInt() == 1;
            });
            // Ready could still be the state from before the outage: the heartbeats must have resumed.
            assertStillReadyBeyondTheGrace("gpu-sim-03");
        }
    }

    @Test
    void dockerUnreachableIsAHostCondition() {
        agent = agent("no-docker", SimNvml.library(), "unix:///nonexistent/docker.sock", "nvidia");
        await().atMost(Duration.ofSeconds(15)).until(() -> "False".equals(condition(host("no-docker"), "ContainerRuntimeReady", "status")));
        JsonNode h = host("no-docker");
        assertThat(condition(h, "ContainerRuntimeReady", "reason")).isEqualTo("DaemonUnreachable");
        assertThat(condition(h, "ContainerRuntimeReady", "message")).contains("unix:///nonexistent/docker.sock");
        assertStillReadyBeyondTheGrace("no-docker");
    }

    @Test
    void aMissingGpuRuntimeIsAHostCondition() {
        agent = agent("no-runtime", SimNvml.library(), DOCKER, "nvidia-missing");
        await().atMost(Duration.ofSeconds(15)).until(() -> "False".equals(condition(host("no-runtime"), "ContainerRuntimeReady", "status")));
        JsonNode r = host("no-runtime");
        assertThat(condition(r, "ContainerRuntimeReady", "reason")).isEqualTo("RuntimeMissing");
        assertThat(condition(r, "ContainerRuntimeReady", "message")).contains("has no runtime 'nvidia-missing'").contains("nvidia");
    }

    @Test
    void withoutADriverTheAgentSaysDriverNotLoadedAndKeepsHeartbeating() {
        agent = agent("no-driver", SimNvml.REAL_LIBRARY, DOCKER, "nvidia");
        await().atMost(Duration.ofSeconds(15)).until(() -> "False".equals(condition(host("no-driver"), "NvmlReady", "status")));
        JsonNode h = host("no-driver");
        assertThat(condition(h, "NvmlReady", "reason")).isEqualTo("DriverNotLoaded");
        assertThat(condition(h, "NvmlReady", "message")).isEqualTo("nvmlInit_v2: Driver Not Loaded (NVML error 9)");
        assertThat(h.get("gpus")).isEmpty();
        assertStillReadyBeyondTheGrace("no-driver");
    }

    /**
     * The host stays ready past the heartbeat grace (3 s here). The witness is a host that
     * heartbeats once, now: when the control-api marks it not-ready, a liveness round has judged
     * every host at least 3 s after this point, and a host whose agent had stopped heartbeating
     * by now would have been marked with it.
     */
    private void assertStillReadyBeyondTheGrace(String name) {
        long accepted = agent.progress().heartbeatsAccepted();
        String witness = "witness-" + name;
        fx.heartbeat(fx.register(witness));
        await().atMost(Duration.ofSeconds(30)).until(() -> host(witness).at("/host/state").asText().equals("ready"));
        await().atMost(Duration.ofSeconds(60)).until(() -> host(witness).at("/host/state").asText().equals("not-ready"));
        assertThat(host(name).at("/host/state").asText()).as("beyond the 3 s grace, still ready").isEqualTo("ready");
        assertThat(agent.progress().heartbeatsAccepted() - accepted).as("heartbeats accepted meanwhile").isGreaterThanOrEqualTo(3);
    }
}
