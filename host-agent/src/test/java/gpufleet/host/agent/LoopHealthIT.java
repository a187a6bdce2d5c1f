package gpufleet.host.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.control.support.ApiFixture;
import gpufleet.host.SimNvml;
import gpufleet.host.docker.DockerRuntime;
import gpufleet.host.nvml.NvmlGpuInventory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's loops under faults injected at their turns (the seam stands in for a bug or a call
 * that hangs), against a real control-api, the simulated NVML and the real Docker Engine.
 */
class LoopHealthIT {
    @TempDir
    Path state;
    ApiFixture fx;
    Agent agent;
    /** Errors the agent would have exited on: recorded here instead of ending the test's JVM. */
    final Map<String, Throwable> died = new ConcurrentHashMap<>();
    /** The fault each loop meets at its next turn, once. */
    final Map<String, Fault> armed = new ConcurrentHashMap<>();

    interface Fault {
        void hit() throws InterruptedException;
    }

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
        SimNvml.defaults();
    }

    private Agent agent(String name) {
        Map<String, String> env = new HashMap<>();
        env.put("GPUFLEET_CONTROL_API_URL", "http://127.0.0.1:" + fx.api.port());
        env.put("GPUFLEET_JOIN_TOKEN", fx.joinToken());
        env.put("GPUFLEET_STATE_DIR", state.toString());
        env.put("GPUFLEET_HEARTBEAT_INTERVAL", "300ms");
        env.put("GPUFLEET_SWEEP_INTERVAL", "200ms");
        env.put("GPUFLEET_DOCKER_CHECK_INTERVAL", "1s");
        env.put("GPUFLEET_STREAM_PORT", "0");
        AgentConfig config = AgentConfig.fromEnvironment(env, name);
        Loops.Faults faults = loop -> {
            Fault f = armed.remove(loop);
            if (f != null) {
                f.hit();
            }
        };
        Agent a = new Agent(config, new ControlApiClient(config.controlApi()), () -> new NvmlGpuInventory(SimNvml.library()),
                new DockerRuntime(AgentIT.DOCKER, "nvidia"), e -> { })
                .supervised(died::put, faults, Map.of("reconcile", Duration.ofSeconds(10)));
        a.start();
        return a;
    }

    private JsonNode host(String name) {
        return fx.http.get("/v1/hosts/" + name, ApiFixture.OPERATOR).json();
    }

    private String state(String name) {
        return host(name).at("/host/state").asText();
    }

    @Test
    void aStalledReconcileTakesTheHostOutOfPlacementUntilItMovesAgain() {
        agent = agent("stall-01");
        await().atMost(Duration.ofSeconds(30)).until(() -> "ready".equals(state("stall-01")) && agent.progress().reconcilePasses() > 0);
        CountDownLatch hung = new CountDownLatch(1);
        armed.put("reconcile", hung::await); // a pass that does not return, as one stuck in a hung Docker call
        await("host stall-01 not-ready while its reconcile is stalled").atMost(Duration.ofSeconds(60)).until(() -> "not-ready".equals(state("stall-01")));
        assertThat(agent.progress().heartbeatsWithheld()).as("heartbeats withheld").isPositive();
        assertThat(agent.loops().stale()).containsExactly("reconcile");
        assertThat(died).isEmpty();

        hung.countDown();
        await("host stall-01 ready again once reconcile moves").atMost(Duration.ofSeconds(60)).until(() -> "ready".equals(state("stall-01")));
        assertThat(agent.loops().stale()).isEmpty();
    }

    @Test
    void aLoopThatThrowsIsStartedAgainInPlaceAndGoesOnReporting() {
        agent = agent("flaky-01");
        await().atMost(Duration.ofSeconds(30)).until(() -> host("flaky-01").path("gpus").size() == 8);
        armed.put("inventory", () -> {
            throw new IllegalStateException("a bug in the inventory loop (injected)");
        });
        await("the inventory loop started again once").atMost(Duration.ofSeconds(30)).until(() -> agent.loops().health("inventory").restarts() == 1);
        // The restarted loop still sweeps and reports: a GPU lost now shows at the control-api.
        SimNvml.configure("fault gpu 4 lost\n");
        await("the restarted inventory loop reports the lost GPU").atMost(Duration.ofSeconds(30)).until(() -> host("flaky-01").at("/host/gpus/unhealthy").asInt() == 1);
        assertThat(state("flaky-01")).isEqualTo("ready");
        assertThat(died).isEmpty();
    }

    @Test
    void aLoopThatRunsOutOfMemoryEndsTheAgentAndMeanwhileTheHostGoesNotReady() {
        agent = agent("oom-01");
        await().atMost(Duration.ofSeconds(30)).until(() -> "ready".equals(state("oom-01")));
        armed.put("inventory", () -> {
            throw new OutOfMemoryError("Java heap space (injected)");
        });
        await("the OutOfMemoryError handed to Fatal (the process exit)").atMost(Duration.ofSeconds(30)).until(() -> died.containsKey("inventory"));
        assertThat(died.get("inventory")).isInstanceOf(OutOfMemoryError.class);
        assertThat(agent.loops().health("inventory").restarts()).as("not started again in place").isZero();
        // Here the process lives on (the test records the exit instead): the dead loop withholds the heartbeat.
        await("host oom-01 not-ready with a dead loop").atMost(Duration.ofSeconds(60)).until(() -> "not-ready".equals(state("oom-01")));
    }
}
