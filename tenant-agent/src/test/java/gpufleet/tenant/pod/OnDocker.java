package gpufleet.tenant.pod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import gpufleet.control.support.ApiFixture;
import gpufleet.host.agent.Agent;
import gpufleet.host.agent.AgentConfig;
import gpufleet.host.agent.ControlApiClient;
import gpufleet.host.docker.DockerRuntime;
import gpufleet.host.nvml.NvmlGpuInventory;
import gpufleet.host.workload.Labels;
import gpufleet.tenant.agent.TenantAgentConfig;
import gpufleet.tenant.node.NodeController;
import gpufleet.tenant.provider.ProviderClient;
import gpufleet.tenant.provider.ProviderPods;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The whole path of a pod, for tests: the tenant-agent's controllers against the mock API server,
 * a real control-api on PostgreSQL, a real host-agent on the simulated NVML, real Docker. Each
 * test names its own host, which labels its containers, so tests that share the engine never
 * touch each other's.
 */
final class OnDocker implements AutoCloseable {
    static final String TENANT = "skg00000";
    static final String OFFERING = "seeweb-nvidia-1xa6000";
    final KubernetesClient client;
    final String host;
    final ApiFixture fx;
    final Agent hostAgent;
    final NodeController node;
    final PodController pods;
    final ProviderClient provider;
    final DockerClient docker;

    OnDocker(KubernetesClient client, String host) throws Exception {
        this.client = client;
        this.host = host;
        var cfg = DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost("unix:///var/run/docker.sock").build();
        docker = DockerClientImpl.getInstance(cfg, new ZerodepDockerHttpClient.Builder().dockerHost(cfg.getDockerHost()).build());
        removeContainers();
        fx = ApiFixture.start();
        fx.seedOfferings();
        String token = fx.tenant(TENANT, List.of(OFFERING));
        String sim = Path.of("../host-agent/target/nvml-sim/libnvidia-ml-sim.so").toAbsolutePath().normalize().toString();
        assertThat(Files.exists(Path.of(sim))).as("the simulated NVML is built by the host-agent module").isTrue();
        Map<String, String> env = new HashMap<>(Map.of("GPUFLEET_CONTROL_API_URL", "http://127.0.0.1:" + fx.api.port(),
                "GPUFLEET_JOIN_TOKEN", fx.joinToken(), "GPUFLEET_STATE_DIR", Files.createTempDirectory(host).toString(),
                "GPUFLEET_HEARTBEAT_INTERVAL", "500ms", "GPUFLEET_SWEEP_INTERVAL", "500ms", "GPUFLEET_RESYNC_INTERVAL", "300ms",
                "GPUFLEET_RESERVED_CPU", "0", "GPUFLEET_RESERVED_MEMORY", "0", "GPUFLEET_METRICS_LISTEN", "127.0.0.1:0"));
        env.put("GPUFLEET_STREAM_PORT", "0");
        AgentConfig hc = AgentConfig.fromEnvironment(env, host);
        hostAgent = new Agent(hc, new ControlApiClient(hc.controlApi()), () -> new NvmlGpuInventory(sim),
                new DockerRuntime(hc.dockerHost(), hc.runtime()), e -> { });
        hostAgent.start();
        TenantAgentConfig tc = TenantAgentConfig.fromEnvironment(Map.of("GPUFLEET_CONTROL_API_URL", "http://127.0.0.1:" + fx.api.port(),
                "GPUFLEET_TENANT_TOKEN", token));
        provider = new ProviderClient(tc.controlApi(), tc.tenantToken());
        node = new NodeController(client, provider, tc, () -> null);
        pods = new PodController(client, tc.nodeName(), tc.nodeAddress());
        await().atMost(Duration.ofSeconds(60)).until(() -> fx.http.get("/v1/hosts/" + host, ApiFixture.OPERATOR).json()
                .at("/host/gpus/free").asInt() == 8);
    }

    /** One pass of both controllers, then the pod as the API server has it. */
    Pod sync(String name) throws Exception {
        NodeController.Provider p = node.syncOnce();
        pods.syncOnce(new ProviderPods(provider, p.tenant()), p.offerings());
        return client.pods().inNamespace("default").withName(name).get();
    }

    /** One pass, then the pod's phase ("" before it has one). */
    String phase(String name) throws Exception {
        Pod pod = sync(name);
        return pod.getStatus() == null || pod.getStatus().getPhase() == null ? "" : pod.getStatus().getPhase();
    }

    /** This host's containers in Docker, of every state. */
    List<Container> containers() {
        return docker.listContainersCmd().withShowAll(true).withLabelFilter(Map.of(Labels.MANAGED, "true", Labels.HOST, host)).exec();
    }

    private void removeContainers() {
        for (Container c : containers()) {
            docker.removeContainerCmd(c.getId()).withForce(true).exec();
        }
    }

    @Override
    public void close() throws Exception {
        try {
            hostAgent.close();
            fx.close();
            removeContainers();
        } finally {
            docker.close();
        }
    }
}
