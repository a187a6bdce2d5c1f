package gpufleet.host.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gpufleet.control.support.ApiFixture;
import gpufleet.host.SimNvml;
import gpufleet.host.docker.DockerRuntime;
import gpufleet.host.nvml.NvmlGpuInventory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What /healthz reports (Agent.problems): NVML, the container runtime and contact with the control-api, each for real. */
class AgentHealthIT {
    private static final Duration SILENCE = Duration.ofSeconds(1);

    @TempDir
    Path state;
    ApiFixture fx;
    Agent agent;

    @BeforeEach
    void start() {
        SimNvml.defaults();
        fx = ApiFixture.start(AgentIT.LIVENESS);
    }

    @AfterEach
    void stop() {
        if (agent != null) {
            agent.close();
        }
        fx.close();
    }

    private Agent agent(String nvmlLibrary) {
        Map<String, String> env = new HashMap<>();
        env.put("GPUFLEET_CONTROL_API_URL", "http://127.0.0.1:" + fx.api.port());
        env.put("GPUFLEET_JOIN_TOKEN", fx.joinToken());
        env.put("GPUFLEET_STATE_DIR", state.toString());
        env.put("GPUFLEET_HEARTBEAT_INTERVAL", "300ms");
        env.put("GPUFLEET_SWEEP_INTERVAL", "200ms");
        env.put("GPUFLEET_DOCKER_CHECK_INTERVAL", "1s");
        env.put("GPUFLEET_STREAM_PORT", "0");
        AgentConfig config = AgentConfig.fromEnvironment(env, "health-01");
        Agent a = new Agent(config, new ControlApiClient(config.controlApi()), () -> new NvmlGpuInventory(nvmlLibrary),
                new DockerRuntime(AgentIT.DOCKER, "nvidia"), e -> { });
        a.start();
        return a;
    }

    @Test
    void healthyUntilTheControlApiStopsAnswering() {
        agent = agent(SimNvml.library());
        await("no problem once NVML is read, Docker answers and heartbeats are accepted").atMost(Duration.ofSeconds(30))
                .until(() -> agent.problems(SILENCE).isEmpty());
        fx.api.close();
        await("the control-api's silence named").atMost(Duration.ofSeconds(30)).until(() -> agent.problems(SILENCE).stream()
                .anyMatch(p -> p.startsWith("no answer from the control-api for ")));
    }

    @Test
    void anNvmlWithoutItsDriverIsNamed() {
        agent = agent(SimNvml.REAL_LIBRARY);
        await().atMost(Duration.ofSeconds(30)).until(() -> agent.problems(SILENCE).stream().anyMatch(p -> p.contains("DriverNotLoaded")));
        List<String> problems = agent.problems(SILENCE);
        assertThat(problems).contains("NvmlReady is False: DriverNotLoaded (nvmlInit_v2: Driver Not Loaded (NVML error 9))");
    }
}
