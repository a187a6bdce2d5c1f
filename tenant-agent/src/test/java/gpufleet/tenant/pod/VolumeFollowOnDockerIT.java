package gpufleet.tenant.pod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.model.Frame;
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
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A ConfigMap and a Secret edited after their pod runs, followed to Docker as a kubelet follows
 * them: the tenant-agent's informers see the edit, it sends the pod's files, the control-api
 * seals and stores them, the host swaps them in place. The container sees the new files without a
 * restart; its env and its subPath file keep what it started with.
 */
@EnableKubernetesMockClient(crud = true)
class VolumeFollowOnDockerIT {
    static final String HOST = "volume-follow-gpu";
    KubernetesClient client;
    ApiFixture fx;
    Agent hostAgent;
    PodSync sync;
    DockerClient docker;

    @BeforeEach
    void start() throws Exception {
        var cfg = DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost("unix:///var/run/docker.sock").build();
        docker = DockerClientImpl.getInstance(cfg, new ZerodepDockerHttpClient.Builder().dockerHost(cfg.getDockerHost()).build());
        removeContainers();
        fx = ApiFixture.start();
        fx.seedOfferings();
        String token = fx.tenant("skg00000", List.of("seeweb-nvidia-1xa6000"));
        String sim = Path.of("../host-agent/target/nvml-sim/libnvidia-ml-sim.so").toAbsolutePath().normalize().toString();
        assertThat(Files.exists(Path.of(sim))).as("the simulated NVML is built by the host-agent module").isTrue();
        Map<String, String> env = new HashMap<>(Map.of("GPUFLEET_CONTROL_API_URL", "http://127.0.0.1:" + fx.api.port(),
                "GPUFLEET_JOIN_TOKEN", fx.joinToken(), "GPUFLEET_STATE_DIR", Files.createTempDirectory("follow").toString(),
                "GPUFLEET_HEARTBEAT_INTERVAL", "500ms", "GPUFLEET_SWEEP_INTERVAL", "500ms", "GPUFLEET_RESYNC_INTERVAL", "300ms",
                "GPUFLEET_RESERVED_CPU", "0", "GPUFLEET_RESERVED_MEMORY", "0", "GPUFLEET_METRICS_LISTEN", "127.0.0.1:0"));
        env.put("GPUFLEET_STREAM_PORT", "0");
        AgentConfig hc = AgentConfig.fromEnvironment(env, HOST);
        hostAgent = new Agent(hc, new ControlApiClient(hc.controlApi()), () -> new NvmlGpuInventory(sim),
                new DockerRuntime(hc.dockerHost(), hc.runtime()), e -> { });
        hostAgent.start();
        TenantAgentConfig tc = TenantAgentConfig.fromEnvironment(Map.of("GPUFLEET_CONTROL_API_URL", "http://127.0.0.1:" + fx.api.port(),
                "GPUFLEET_TENANT_TOKEN", token));
        ProviderClient provider = new ProviderClient(tc.controlApi(), tc.tenantToken());
        await().atMost(Duration.ofSeconds(60)).until(() -> fx.http.get("/v1/hosts/" + HOST, ApiFixture.OPERATOR).json()
                .at("/host/gpus/free").asInt() == 8);
        NodeController.Provider p = new NodeController(client, provider, tc, () -> null).syncOnce();
        // The agent's own pod sync: informers on pods, ConfigMaps and Secrets, a work queue, a 10 s resync.
        sync = new PodSync(client, new PodController(client, tc.nodeName(), tc.nodeAddress()), Duration.ofSeconds(10),
                Duration.ofMillis(300));
        sync.provider(new ProviderPods(provider, p.tenant()), p.offerings());
    }

    @AfterEach
    void stop() throws Exception {
        try {
            sync.close();
            hostAgent.close();
            fx.close();
            removeContainers();
        } finally {
            docker.close();
        }
    }

    private void removeContainers() {
        for (var c : docker.listContainersCmd().withShowAll(true).withLabelFilter(Map.of(Labels.MANAGED, "true", Labels.HOST, HOST))
                .exec()) {
            docker.removeContainerCmd(c.getId()).withForce(true).exec();
        }
    }

    private ContainerStatus main() {
        Pod pod = client.pods().inNamespace("default").withName("app").get();
        return pod.getStatus() == null || pod.getStatus().getContainerStatuses() == null ? null
                : pod.getStatus().getContainerStatuses().get(0);
    }

    private String inside(String containerId, String script) throws InterruptedException {
        String exec = docker.execCreateCmd(containerId.replaceFirst("^docker://", "")).withCmd("sh", "-c", script)
                .withAttachStdout(true).withAttachStderr(true).exec().getId();
        StringBuilder out = new StringBuilder();
        docker.execStartCmd(exec).exec(new ResultCallback.Adapter<Frame>() {
            @Override
            public void onNext(Frame f) {
                out.append(new String(f.getPayload(), StandardCharsets.UTF_8));
            }
        }).awaitCompletion();
        return out.toString();
    }

    @Test
    void aConfigMapAndASecretEditedAfterThePodRunsAreSeenInItsFilesWithoutARestart() throws Exception {
        client.configMaps().inNamespace("default").resource(new ConfigMapBuilder().withNewMetadata().withName("app-config").endMetadata()
                .addToData("greeting", "hello").build()).create();
        client.secrets().inNamespace("default").resource(new SecretBuilder().withNewMetadata().withName("app-secret").endMetadata()
                .addToStringData("token", "token-one").build()).create();
        Pod pod = new PodBuilder().withNewMetadata().withName("app").withNamespace("default").endMetadata()
                .withNewSpec().withNodeName("k8s.gpu").withRuntimeClassName("seeweb-nvidia-1xa6000")
                .addNewVolume().withName("cfg").withNewConfigMap().withName("app-config").endConfigMap().endVolume()
                .addNewVolume().withName("sec").withNewSecret().withSecretName("app-secret").endSecret().endVolume()
                .addNewContainer().withName("main").withImage("gpufleet/busybox:test").withCommand("sleep", "3600")
                .addNewEnv().withName("GREETING").withNewValueFrom().withNewConfigMapKeyRef("greeting", "app-config", false)
                .endValueFrom().endEnv()
                .withNewResources().addToLimits("nvidia.com/gpu", new Quantity("1")).addToLimits("cpu", new Quantity("500m"))
                .addToLimits("memory", new Quantity("64Mi")).endResources()
                .addNewVolumeMount().withName("cfg").withMountPath("/etc/config").endVolumeMount()
                .addNewVolumeMount().withName("cfg").withMountPath("/etc/greeting.txt").withSubPath("greeting").endVolumeMount()
                .addNewVolumeMount().withName("sec").withMountPath("/etc/secret").endVolumeMount().endContainer()
                .endSpec().build();
        client.pods().inNamespace("default").resource(pod).create();
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(300))
                .until(() -> main() != null && main().getState().getRunning() != null);
        String id = main().getContainerID();
        String look = "echo \"cfg=$(cat /etc/config/greeting) extra=$(cat /etc/config/extra 2>/dev/null) "
                + "secret=$(cat /etc/secret/token) sub=$(cat /etc/greeting.txt) env=$GREETING\"";
        assertThat(inside(id, look).trim()).isEqualTo("cfg=hello extra= secret=token-one sub=hello env=hello");

        long t0 = System.nanoTime();
        client.configMaps().inNamespace("default").withName("app-config").edit(cm -> new ConfigMapBuilder(cm)
                .addToData("greeting", "bonjour").addToData("extra", "new-key").build());
        client.secrets().inNamespace("default").withName("app-secret").edit(s -> new SecretBuilder(s)
                .withStringData(Map.of("token", "token-two")).build());
        String expected = "cfg=bonjour extra=new-key secret=token-two sub=hello env=hello";
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> inside(id, look).trim().equals(expected));
        System.out.printf("the edits were seen inside the container after %d ms%n", (System.nanoTime() - t0) / 1_000_000);
        assertThat(main().getContainerID()).as("the same container").isEqualTo(id);
        assertThat(main().getRestartCount()).isZero();
    }
}
