package gpufleet.tenant.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Pods;
import gpufleet.host.agent.Agent;
import gpufleet.host.agent.AgentConfig;
import gpufleet.host.agent.ControlApiClient;
import gpufleet.host.docker.DockerRuntime;
import gpufleet.host.nvml.NvmlGpuInventory;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A real control-api on PostgreSQL, one real host-agent on the simulated NVML (8 GPUs) with its
 * stream server, and a tenant: the provider side that kubectl's streams reach, for the tests that
 * run pods as real Docker containers and talk to them.
 */
public final class StreamFleet implements AutoCloseable {
    public static final String TENANT = "skg00000";
    public static final String OFFERING = "seeweb-nvidia-1xa6000";
    /** The host-agent's name, which labels its containers. */
    static final String HOST = "streams-gpu";
    public final ApiFixture fx;
    public final Agent hostAgent;
    public final String token;

    private StreamFleet(ApiFixture fx, Agent hostAgent, String token) {
        this.fx = fx;
        this.hostAgent = hostAgent;
        this.token = token;
    }

    public static StreamFleet start() throws Exception {
        DockerCleanup.removeContainersOf(HOST);
        ApiFixture fx = ApiFixture.start();
        fx.seedOfferings();
        String token = fx.tenant(TENANT, List.of(OFFERING));
        String sim = Path.of("../host-agent/target/nvml-sim/libnvidia-ml-sim.so").toAbsolutePath().normalize().toString();
        assertThat(Files.exists(Path.of(sim))).as("the simulated NVML is built by the host-agent module").isTrue();
        Map<String, String> env = new HashMap<>(Map.of("GPUFLEET_CONTROL_API_URL", "http://127.0.0.1:" + fx.api.port(),
                "GPUFLEET_JOIN_TOKEN", fx.joinToken(), "GPUFLEET_STATE_DIR", Files.createTempDirectory("streams").toString(),
                "GPUFLEET_HEARTBEAT_INTERVAL", "500ms", "GPUFLEET_SWEEP_INTERVAL", "500ms", "GPUFLEET_RESYNC_INTERVAL", "300ms",
                "GPUFLEET_RESERVED_CPU", "0", "GPUFLEET_RESERVED_MEMORY", "0", "GPUFLEET_METRICS_LISTEN", "127.0.0.1:0"));
        env.put("GPUFLEET_STREAM_PORT", "0");
        env.put("GPUFLEET_RESTART_BACKOFF", "1s");
        // StreamsIT follows a 100 MiB log from its first line: the host must keep all of it (the default rotates at 10Mi x 5).
        env.put("GPUFLEET_CONTAINER_LOG_MAX_SIZE", "128Mi");
        AgentConfig hc = AgentConfig.fromEnvironment(env, HOST);
        Agent agent = new Agent(hc, new ControlApiClient(hc.controlApi()), () -> new NvmlGpuInventory(sim),
                new DockerRuntime(hc.dockerHost(), hc.runtime()), e -> { });
        agent.start();
        await().atMost(Duration.ofSeconds(60)).until(() -> fx.http.get("/v1/hosts/" + HOST, ApiFixture.OPERATOR).json()
                .at("/host/gpus/free").asInt() == 8);
        return new StreamFleet(fx, agent, token);
    }

    public URI controlApi() {
        return URI.create("http://127.0.0.1:" + fx.api.port());
    }

    /** A one-GPU pod (small cpu and memory, so that many fit on 2 cores) running {@code command}. */
    public static Map<String, Object> container(String... command) {
        Map<String, Object> c = Pods.container("main", 1, "100m", "128Mi");
        c.put("command", List.of(command));
        return c;
    }

    /** Creates the pod's workload (restartPolicy Always) under {@code podUid}. */
    public void create(String podUid, String name, Map<String, Object> container) {
        Map<String, Object> pod = Pods.pod(podUid, name, OFFERING, List.of(container));
        pod.put("restartPolicy", "Always");
        assertThat(fx.http.post("/v1/tenants/" + TENANT + "/workloads", token, pod).status()).isEqualTo(201);
    }

    public void awaitRunning(List<String> podUids) {
        await().atMost(Duration.ofSeconds(90)).untilAsserted(() -> {
            for (String uid : podUids) {
                var w = fx.http.get("/v1/tenants/" + TENANT + "/workloads/" + uid, token).json();
                assertThat(w.path("phase").asText()).as(uid + ": " + w).isEqualTo("running");
            }
        });
    }

    @Override
    public void close() throws Exception {
        hostAgent.close();
        fx.close();
        DockerCleanup.removeContainersOf(HOST);
    }
}
