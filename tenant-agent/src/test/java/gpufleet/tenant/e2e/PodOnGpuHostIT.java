package gpufleet.tenant.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.EdgeCurl;
import gpufleet.host.agent.Agent;
import gpufleet.host.agent.AgentConfig;
import gpufleet.host.agent.ControlApiClient;
import gpufleet.host.docker.DockerRuntime;
import gpufleet.host.nvml.NvmlGpuInventory;
import gpufleet.tenant.agent.TenantAgentConfig;
import gpufleet.tenant.node.NodeController;
import gpufleet.tenant.pod.PodController;
import gpufleet.tenant.provider.ProviderClient;
import gpufleet.tenant.provider.ProviderPods;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The whole path: a pod in the (mock) cluster, the tenant-agent, a real control-api on
 * PostgreSQL, a real host-agent on the simulated NVML, and a real Docker container whose env and
 * files come from the cluster's ConfigMap and Secret.
 */
@EnableKubernetesMockClient(crud = true)
class PodOnGpuHostIT {
    /** The host-agent's name, which labels its containers. */
    static final String HOST = "e2e-gpu";
    KubernetesClient client;
    ApiFixture fx;
    Agent hostAgent;
    NodeController node;
    PodController pods;
    ProviderClient provider;

    @BeforeEach
    void start() throws Exception {
        DockerCleanup.removeContainersOf(HOST);
        fx = ApiFixture.start(Map.of("GPUFLEET_EDGE_ADMIN_URL", "http://127.0.0.1:2019", "GPUFLEET_EDGE_HTTPS_PORT", "8443",
                "GPUFLEET_EDGE_DOMAIN", "cloud.provider.tld", "GPUFLEET_EDGE_SYNC_INTERVAL", "300ms"));
        fx.seedOfferings();
        String token = fx.tenant("skg00000", List.of("seeweb-nvidia-1xa6000"));
        String sim = Path.of("../host-agent/target/nvml-sim/libnvidia-ml-sim.so").toAbsolutePath().normalize().toString();
        assertThat(Files.exists(Path.of(sim))).as("the simulated NVML is built by the host-agent module").isTrue();
        Map<String, String> env = new HashMap<>(Map.of("GPUFLEET_CONTROL_API_URL", "http://127.0.0.1:" + fx.api.port(),
                "GPUFLEET_JOIN_TOKEN", fx.joinToken(), "GPUFLEET_STATE_DIR", Files.createTempDirectory("e2e").toString(),
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
        DockerCleanup.removeContainersOf(HOST);
    }

    private String phase(String name) throws Exception {
        NodeController.Provider p = node.syncOnce();
        pods.syncOnce(new ProviderPods(provider, p.tenant()), p.offerings());
        Pod pod = client.pods().inNamespace("default").withName(name).get();
        return pod.getStatus() == null ? "" : pod.getStatus().getPhase();
    }

    @Test
    void theRunningTenantAgentStartsAPodAndDeletingItStopsTheContainer() throws Exception {
        TenantAgentConfig tc = TenantAgentConfig.fromEnvironment(Map.of("GPUFLEET_CONTROL_API_URL", "http://127.0.0.1:" + fx.api.port(),
                "GPUFLEET_TENANT_TOKEN", fx.http.post("/v1/tenants/skg00000/tokens", ApiFixture.OPERATOR, Map.of()).json().get("token").asText(),
                "GPUFLEET_SYNC_INTERVAL", "1s", "GPUFLEET_POD_SYNC_INTERVAL", "300ms"));
        try (gpufleet.tenant.agent.TenantAgent agent = new gpufleet.tenant.agent.TenantAgent(tc, client)) {
            await().atMost(Duration.ofSeconds(30)).until(() -> client.runtimeClasses().withName("seeweb-nvidia-1xa6000").get() != null);
            client.pods().inNamespace("default").resource(new PodBuilder().withNewMetadata().withName("sleeper").withNamespace("default")
                    .endMetadata().withNewSpec().withNodeName("k8s.gpu").withRuntimeClassName("seeweb-nvidia-1xa6000")
                    .withTerminationGracePeriodSeconds(1L)
                    .addNewContainer().withName("main").withImage("gpufleet/busybox:test").withCommand("sleep", "3600")
                    .withNewResources().addToLimits("cpu", new Quantity("500m")).addToLimits("memory", new Quantity("256Mi")).endResources()
                    .endContainer().endSpec().build()).create();
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                Pod p = client.pods().inNamespace("default").withName("sleeper").get();
                return p.getStatus() != null && "Running".equals(p.getStatus().getPhase());
            });
            String uid = client.pods().inNamespace("default").withName("sleeper").get().getMetadata().getUid();
            client.pods().inNamespace("default").withName("sleeper").delete();
            await().atMost(Duration.ofSeconds(30)).until(() -> fx.http.get("/v1/tenants/skg00000/workloads/" + uid, ApiFixture.OPERATOR)
                    .json().get("phase").asText().equals("deleted"));
        }
    }

    @Test
    void aPrivateImageIsPulledWithThePodsPullSecretAndThePullIsInItsEvents() {
        String auth = Base64.getEncoder().encodeToString("gpufleet:gpufleet-pull".getBytes());
        String config = "{\"auths\":{\"127.0.0.1:5000\":{\"username\":\"gpufleet\",\"password\":\"gpufleet-pull\",\"auth\":\""
                + auth + "\"}}}";
        client.secrets().inNamespace("default").resource(new SecretBuilder().withNewMetadata().withName("registry").endMetadata()
                .withType("kubernetes.io/dockerconfigjson")
                .addToData(".dockerconfigjson", Base64.getEncoder().encodeToString(config.getBytes())).build()).create();
        for (String name : List.of("private", "local")) {
            client.pods().inNamespace("default").resource(new PodBuilder().withNewMetadata().withName(name).withNamespace("default")
                    .endMetadata().withNewSpec().withNodeName("k8s.gpu").withRuntimeClassName("seeweb-nvidia-1xa6000")
                    .addNewImagePullSecret("registry")
                    .addNewContainer().withName("main").withCommand("sleep", "3600")
                    .withImage(name.equals("private") ? "127.0.0.1:5000/gpufleet/busybox:test" : "gpufleet/busybox:test")
                    .withImagePullPolicy(name.equals("private") ? "Always" : "IfNotPresent")
                    .withNewResources().addToLimits("cpu", new Quantity("500m")).addToLimits("memory", new Quantity("256Mi"))
                    .endResources().endContainer().endSpec().build()).create();
        }
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300))
                .until(() -> phase("private").equals("Running") && phase("local").equals("Running"));
        assertThat(events("private")).containsSubsequence("Scheduled", "Pulling", "Pulled", "Created", "Started");
        assertThat(eventMessage("private", "Pulled")).matches("Successfully pulled image \"127.0.0.1:5000/gpufleet/busybox:test\" in [0-9.]+s");
        assertThat(events("local")).containsSubsequence("Scheduled", "Pulled", "Created", "Started").doesNotContain("Pulling");
        assertThat(eventMessage("local", "Pulled")).isEqualTo("Container image \"gpufleet/busybox:test\" already present on machine");
    }

    private List<String> events(String pod) {
        return client.v1().events().inNamespace("default").list().getItems().stream()
                .filter(e -> pod.equals(e.getInvolvedObject().getName())).map(io.fabric8.kubernetes.api.model.Event::getReason).toList();
    }

    private String eventMessage(String pod, String reason) {
        return client.v1().events().inNamespace("default").list().getItems().stream()
                .filter(e -> pod.equals(e.getInvolvedObject().getName()) && reason.equals(e.getReason()))
                .map(io.fabric8.kubernetes.api.model.Event::getMessage).findFirst().orElse(null);
    }

    private Pod inference() {
        return client.pods().inNamespace("default").resource(new PodBuilder().withNewMetadata().withName("inference")
                .withNamespace("default").withLabels(Map.of("run", "inference")).endMetadata().withNewSpec().withNodeName("k8s.gpu")
                .withRuntimeClassName("seeweb-nvidia-1xa6000").withTerminationGracePeriodSeconds(1L)
                .addNewContainer().withName("web").withImage("gpufleet/busybox:test")
                .withCommand("sh", "-c", "mkdir -p /www && echo 'It works!' > /www/index.html && exec httpd -f -p 8080 -h /www")
                .addNewPort().withContainerPort(8080).endPort()
                .withNewResources().addToLimits("cpu", new Quantity("500m")).addToLimits("memory", new Quantity("256Mi")).endResources()
                .endContainer().endSpec().build()).create();
    }

    /** The seed's "Access to Applications": a LoadBalancer Service of class k8s.gpu answers at its public name. */
    @Test
    void theSeedsServiceAnswersItWorksAtItsPublicNameThroughTheEdge() throws Exception {
        TenantAgentConfig tc = TenantAgentConfig.fromEnvironment(Map.of("GPUFLEET_CONTROL_API_URL", "http://127.0.0.1:" + fx.api.port(),
                "GPUFLEET_TENANT_TOKEN", fx.http.post("/v1/tenants/skg00000/tokens", ApiFixture.OPERATOR, Map.of()).json().get("token").asText(),
                "GPUFLEET_SYNC_INTERVAL", "1s", "GPUFLEET_POD_SYNC_INTERVAL", "300ms"));
        try (gpufleet.tenant.agent.TenantAgent agent = new gpufleet.tenant.agent.TenantAgent(tc, client)) {
            await().atMost(Duration.ofSeconds(30)).until(() -> client.runtimeClasses().withName("seeweb-nvidia-1xa6000").get() != null);
            inference();
            var svc = client.services().inNamespace("default").resource(new io.fabric8.kubernetes.api.model.ServiceBuilder()
                    .withNewMetadata().withName("inference").endMetadata().withNewSpec().withType("LoadBalancer")
                    .withLoadBalancerClass("k8s.gpu").withSelector(Map.of("run", "inference")).withSessionAffinity("None")
                    .addNewPort().withName("http").withPort(80).withProtocol("TCP")
                    .withTargetPort(new io.fabric8.kubernetes.api.model.IntOrString(8080)).endPort().endSpec().build()).create();
            String name = svc.getMetadata().getUid() + "-skg00000.cloud.provider.tld";
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                var s = client.services().inNamespace("default").withName("inference").get().getStatus();
                return s != null && s.getLoadBalancer() != null && s.getLoadBalancer().getIngress() != null
                        && s.getLoadBalancer().getIngress().size() == 1 && name.equals(s.getLoadBalancer().getIngress().get(0).getHostname());
            });
            await().atMost(Duration.ofSeconds(60)).until(() -> EdgeCurl.get(name, 8443).equals("200 It works!"));

            client.pods().inNamespace("default").withName("inference").delete();
            await().atMost(Duration.ofSeconds(30)).until(() -> EdgeCurl.get(name, 8443).startsWith("503 no ready pod behind service default/inference"));
            await().atMost(Duration.ofSeconds(30)).until(() -> client.pods().inNamespace("default").withName("inference").get() == null);
            inference();
            await().atMost(Duration.ofSeconds(60)).until(() -> EdgeCurl.get(name, 8443).equals("200 It works!"));

            client.services().inNamespace("default").withName("inference").delete();
            await().atMost(Duration.ofSeconds(30)).until(() -> EdgeCurl.get(name, 8443).startsWith("404 "));
        }
    }

    @Test
    void configMapEnvAndSecretVolumeContentsAreSeenInsideTheContainer() {
        client.configMaps().inNamespace("default").resource(new ConfigMapBuilder().withNewMetadata().withName("app").endMetadata()
                .addToData("greeting", "hello from the cluster").build()).create();
        client.secrets().inNamespace("default").resource(new SecretBuilder().withNewMetadata().withName("db").endMetadata()
                .addToData("password", Base64.getEncoder().encodeToString("s3cret".getBytes())).build()).create();
        String check = "test \"$GREETING\" = 'hello from the cluster' || exit 5; "
                + "test \"$(cat /etc/db/password)\" = s3cret || exit 6; "
                + "test \"$NVIDIA_VISIBLE_DEVICES\" != all || exit 7; exit 0";
        client.pods().inNamespace("default").resource(new PodBuilder().withNewMetadata().withName("check").withNamespace("default")
                .endMetadata().withNewSpec().withNodeName("k8s.gpu").withRuntimeClassName("seeweb-nvidia-1xa6000")
                .withRestartPolicy("Never")
                .addNewContainer().withName("main").withImage("gpufleet/busybox:test").withCommand("sh", "-c", check)
                .addNewEnv().withName("GREETING").withNewValueFrom().withNewConfigMapKeyRef().withName("app").withKey("greeting")
                .endConfigMapKeyRef().endValueFrom().endEnv()
                .addNewVolumeMount().withName("db").withMountPath("/etc/db").endVolumeMount()
                .withNewResources().addToLimits("nvidia.com/gpu", new Quantity("1")).addToLimits("cpu", new Quantity("500m"))
                .addToLimits("memory", new Quantity("256Mi")).endResources()
                .endContainer()
                .addNewVolume().withName("db").withNewSecret().withSecretName("db").endSecret().endVolume()
                .endSpec().build()).create();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
                .until(() -> phase("check").matches("Succeeded|Failed"));
        Pod done = client.pods().inNamespace("default").withName("check").get();
        assertThat(done.getStatus().getContainerStatuses().get(0).getState().getTerminated().getExitCode())
                .as("5: ConfigMap env, 6: Secret file, 7: the GPU pin").isZero();
        assertThat(done.getStatus().getPhase()).isEqualTo("Succeeded");
    }
}
