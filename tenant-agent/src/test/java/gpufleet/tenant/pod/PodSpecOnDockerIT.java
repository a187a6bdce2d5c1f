package gpufleet.tenant.pod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

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
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What a pod spec asks, seen from inside a real container: the tenant-agent against the mock API
 * server, a real control-api on PostgreSQL, a real host-agent on the simulated NVML, real Docker.
 */
@EnableKubernetesMockClient(crud = true)
class PodSpecOnDockerIT {
    /** The host-agent's name, which labels its containers (and only this class's). */
    static final String HOST = "podspec-gpu";
    KubernetesClient client;
    ApiFixture fx;
    Agent hostAgent;
    NodeController node;
    PodController pods;
    ProviderClient provider;

    @BeforeEach
    void start() throws Exception {
        removeContainers();
        fx = ApiFixture.start();
        fx.seedOfferings();
        String token = fx.tenant("skg00000", List.of("seeweb-nvidia-1xa6000"));
        String sim = Path.of("../host-agent/target/nvml-sim/libnvidia-ml-sim.so").toAbsolutePath().normalize().toString();
        assertThat(Files.exists(Path.of(sim))).as("the simulated NVML is built by the host-agent module").isTrue();
        Map<String, String> env = new HashMap<>(Map.of("GPUFLEET_CONTROL_API_URL", "http://127.0.0.1:" + fx.api.port(),
                "GPUFLEET_JOIN_TOKEN", fx.joinToken(), "GPUFLEET_STATE_DIR", Files.createTempDirectory("podspec").toString(),
                "GPUFLEET_HEARTBEAT_INTERVAL", "500ms", "GPUFLEET_SWEEP_INTERVAL", "500ms", "GPUFLEET_RESYNC_INTERVAL", "300ms",
                "GPUFLEET_RESERVED_CPU", "0", "GPUFLEET_RESERVED_MEMORY", "0", "GPUFLEET_METRICS_LISTEN", "127.0.0.1:0"));
        env.put("GPUFLEET_STREAM_PORT", "0");
        AgentConfig hc = AgentConfig.fromEnvironment(env, HOST);
        hostAgent = new Agent(hc, new ControlApiClient(hc.controlApi()), () -> new NvmlGpuInventory(sim),
                new DockerRuntime(hc.dockerHost(), hc.runtime()), e -> { });
        hostAgent.start();
        TenantAgentConfig tc = TenantAgentConfig.fromEnvironment(Map.of("GPUFLEET_CONTROL_API_URL", "http://127.0.0.1:" + fx.api.port(),
                "GPUFLEET_TENANT_TOKEN", token));
        provider = new ProviderClient(tc.controlApi(), tc.tenantToken());
        node = new NodeController(client, provider, tc, () -> null);
        pods = new PodController(client, tc.nodeName(), tc.nodeAddress());
        await().atMost(Duration.ofSeconds(60)).until(() -> fx.http.get("/v1/hosts/" + HOST, ApiFixture.OPERATOR).json()
                .at("/host/gpus/free").asInt() == 8);
    }

    @AfterEach
    void stop() throws Exception {
        hostAgent.close();
        fx.close();
        removeContainers();
    }

    /** Leaves none of this host's containers for the next test's agent (other tests share the engine). */
    private static void removeContainers() throws Exception {
        var cfg = DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost("unix:///var/run/docker.sock").build();
        try (var docker = DockerClientImpl.getInstance(cfg, new ZerodepDockerHttpClient.Builder().dockerHost(cfg.getDockerHost()).build())) {
            for (var c : docker.listContainersCmd().withShowAll(true).withLabelFilter(Map.of(Labels.MANAGED, "true", Labels.HOST, HOST))
                    .exec()) {
                docker.removeContainerCmd(c.getId()).withForce(true).exec();
            }
        }
    }

    /** One pass of both controllers, then the pod's phase. */
    private String phase(String name) throws Exception {
        NodeController.Provider p = node.syncOnce();
        pods.syncOnce(new ProviderPods(provider, p.tenant()), p.offerings());
        Pod pod = client.pods().inNamespace("default").withName(name).get();
        return pod.getStatus() == null || pod.getStatus().getPhase() == null ? "" : pod.getStatus().getPhase();
    }

    /** Runs a one-shot pod to its end and returns its container's exit code. */
    private int exitCode(String name, String cpu, String script, String configMap) throws Exception {
        PodBuilder b = new PodBuilder().withNewMetadata().withName(name).withNamespace("default").endMetadata()
                .withNewSpec().withNodeName("k8s.gpu").withRuntimeClassName("seeweb-nvidia-1xa6000").withRestartPolicy("Never")
                .addNewContainer().withName("main").withImage("gpufleet/busybox:test").withCommand("sh", "-c", script)
                .withNewResources().addToLimits("nvidia.com/gpu", new Quantity("1")).addToLimits("cpu", new Quantity(cpu))
                .addToLimits("memory", new Quantity("64Mi")).endResources()
                .addNewVolumeMount().withName("cm").withMountPath("/etc/cm").endVolumeMount().endContainer()
                .addNewVolume().withName("cm").withNewConfigMap().withName(configMap).endConfigMap().endVolume().endSpec();
        client.pods().inNamespace("default").resource(b.build()).create();
        try {
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).until(() -> phase(name).matches("Succeeded|Failed"));
        } catch (ConditionTimeoutException e) {
            fail("pod " + name + " never ended; its container: " + client.pods().inNamespace("default").withName(name).get()
                    .getStatus().getContainerStatuses());
        }
        Pod done = client.pods().inNamespace("default").withName(name).get();
        return done.getStatus().getContainerStatuses().get(0).getState().getTerminated().getExitCode();
    }

    @Test
    void configMapBinaryDataArrivesByteExact() throws Exception {
        byte[] bytes = {0x00, (byte) 0xff, (byte) 0xfe, (byte) 0x80, 0x41, (byte) 0xc3};
        client.configMaps().inNamespace("default").resource(new ConfigMapBuilder().withNewMetadata().withName("blobs").endMetadata()
                .addToBinaryData("blob", Base64.getEncoder().encodeToString(bytes)).addToData("text", "grüße").build()).create();
        String check = "test \"$(od -An -tx1 /etc/cm/blob | tr -d ' \\n')\" = 00fffe8041c3 || exit 3; "
                + "test \"$(od -An -tx1 /etc/cm/text | tr -d ' \\n')\" = 6772c3bcc39f65 || exit 4; exit 0";
        assertThat(exitCode("binary", "500m", check, "blobs"))
                .as("3: binary bytes changed (od printed something else than 00 ff fe 80 41 c3), 4: UTF-8 text changed").isZero();
    }

    @Test
    void securityContextEmptyDirsShmHostnameAndAliasesReachTheContainer() throws Exception {
        // Each check its own exit code: the container says which one failed.
        String check = "id -u | grep -qx 1000 || exit 3; id -G | grep -qw 2000 || exit 4; [ \"$(hostname)\" = trainer-0 ] || exit 5; "
                + "grep -q '10.0.0.7.*db.local' /etc/hosts || exit 6; df -k /dev/shm | grep -q ' 131072 ' || exit 7; "
                + "echo x > /scratch/f || exit 8; touch /root-file 2>/dev/null && exit 9; "
                + "grep -q 'CapEff:.*0000000000000000' /proc/self/status || exit 10; exit 0";
        Pod pod = new PodBuilder().withNewMetadata().withName("settings").withNamespace("default").endMetadata()
                .withNewSpec().withNodeName("k8s.gpu").withRuntimeClassName("seeweb-nvidia-1xa6000").withRestartPolicy("Never")
                .withHostname("trainer-0").addNewHostAlias().withIp("10.0.0.7").withHostnames("db.local").endHostAlias()
                .withNewSecurityContext().withRunAsUser(1000L).withRunAsNonRoot(true).withFsGroup(2000L).endSecurityContext()
                .addNewVolume().withName("scratch").withNewEmptyDir().endEmptyDir().endVolume()
                .addNewVolume().withName("dshm").withNewEmptyDir().withMedium("Memory").withSizeLimit(new Quantity("128Mi")).endEmptyDir()
                .endVolume()
                .addNewContainer().withName("main").withImage("gpufleet/busybox:test").withCommand("sh", "-c", check)
                .withNewResources().addToLimits("nvidia.com/gpu", new Quantity("1")).addToLimits("cpu", new Quantity("500m"))
                .addToLimits("memory", new Quantity("256Mi")).endResources()
                .addNewVolumeMount().withName("scratch").withMountPath("/scratch").endVolumeMount()
                .addNewVolumeMount().withName("dshm").withMountPath("/dev/shm").endVolumeMount()
                .withNewSecurityContext().withReadOnlyRootFilesystem(true).withNewCapabilities().addToDrop("ALL").endCapabilities()
                .endSecurityContext().endContainer().endSpec().build();
        client.pods().inNamespace("default").resource(pod).create();
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).until(() -> phase("settings").matches("Succeeded|Failed"));
        Pod done = client.pods().inNamespace("default").withName("settings").get();
        assertThat(done.getStatus().getContainerStatuses().get(0).getState().getTerminated().getExitCode())
                .as("3 uid, 4 fsGroup, 5 hostname, 6 hostAliases, 7 /dev/shm size, 8 emptyDir, 9 root writable, 10 capabilities").isZero();
    }

    @Test
    void aPodOfOneMillicoreRunsAsOnAKubelet() throws Exception {
        client.configMaps().inNamespace("default").resource(new ConfigMapBuilder().withNewMetadata().withName("empty").endMetadata()
                .addToData("k", "v").build()).create();
        // 1m is a 100 us CFS quota, which the kernel refuses; raised to the 1 ms minimum the container runs (throttled).
        assertThat(exitCode("tiny", "1m", "exit 0", "empty")).isZero();
        assertThat(exitCode("tinier", "0.0005", "exit 0", "empty")).as("0.0005 is read as 1m").isZero();
    }
}
