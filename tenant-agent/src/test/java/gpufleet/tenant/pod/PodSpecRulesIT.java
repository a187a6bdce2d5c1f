package gpufleet.tenant.pod;

import static org.assertj.core.api.Assertions.assertThat;

import gpufleet.control.support.ApiFixture;
import gpufleet.tenant.agent.TenantAgentConfig;
import gpufleet.tenant.node.NodeController;
import gpufleet.tenant.provider.ProviderClient;
import gpufleet.tenant.provider.ProviderPods;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EphemeralContainerBuilder;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Pod specs a tenant writes that k8s.gpu takes only in part (#17, #22): each is refused or warned
 * about in words, never dropped silently. Mock API server, a real control-api on PostgreSQL.
 */
@EnableKubernetesMockClient(crud = true)
class PodSpecRulesIT {
    KubernetesClient client;
    ApiFixture fx;
    String token;
    NodeController node;
    PodController pods;
    ProviderClient provider;

    @BeforeEach
    void start() {
        fx = ApiFixture.start();
        fx.seedOfferings();
        fx.seedHost("a6000-pool");
        token = fx.tenant("skg00000", List.of("seeweb-nvidia-1xa6000"));
        TenantAgentConfig config = TenantAgentConfig.fromEnvironment(Map.of("GPUFLEET_CONTROL_API_URL", "http://127.0.0.1:" + fx.api.port(),
                "GPUFLEET_TENANT_TOKEN", token, "POD_IP", "10.1.2.3"));
        provider = new ProviderClient(config.controlApi(), config.tenantToken());
        node = new NodeController(client, provider, config, () -> null);
        pods = new PodController(client, config.nodeName(), config.nodeAddress());
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    private void sync() throws Exception {
        NodeController.Provider p = node.syncOnce();
        pods.syncOnce(new ProviderPods(provider, p.tenant()), p.offerings());
    }

    private Pod pod(String name, UnaryOperator<ContainerBuilder> container, UnaryOperator<PodBuilder> pod) {
        Container c = container.apply(new ContainerBuilder().withName("main").withImage("gpufleet/busybox:test")
                .withCommand("sleep", "3600")).build();
        return client.pods().inNamespace("default").resource(pod.apply(new PodBuilder().withNewMetadata().withName(name)
                .withNamespace("default").endMetadata().withNewSpec().withNodeName("k8s.gpu").withRuntimeClassName("seeweb-nvidia-1xa6000")
                .withContainers(c).endSpec()).build()).create();
    }

    private static UnaryOperator<ContainerBuilder> limits(String gpus, String cpu, String memory) {
        return c -> c.withNewResources().addToLimits("nvidia.com/gpu", new Quantity(gpus)).addToLimits("cpu", new Quantity(cpu))
                .addToLimits("memory", new Quantity(memory)).endResources();
    }

    private PodCondition scheduled(String name) {
        return client.pods().inNamespace("default").withName(name).get().getStatus().getConditions().stream()
                .filter(c -> c.getType().equals("PodScheduled")).findFirst().orElseThrow();
    }

    private List<Event> warnings(String pod) {
        return client.v1().events().inNamespace("default").list().getItems().stream()
                .filter(e -> pod.equals(e.getInvolvedObject().getName()) && "Warning".equals(e.getType())).toList();
    }

    private int workloads() {
        return fx.http.get("/v1/tenants/skg00000/workloads", token).json().get("items").size();
    }

    @Test
    void gpusInRequestsOnlyOrAsAFractionWaitWithTheApiServersRule() throws Exception {
        pod("requests-only", c -> c.withNewResources().addToRequests("nvidia.com/gpu", new Quantity("1"))
                .addToLimits("cpu", new Quantity("1")).addToLimits("memory", new Quantity("1Gi")).endResources(), p -> p);
        pod("half", limits("0.5", "1", "1Gi"), p -> p);
        pod("whole-in-millis", limits("1000m", "1", "1Gi"), p -> p);
        sync();
        assertThat(scheduled("requests-only").getReason()).isEqualTo("InvalidResources");
        assertThat(scheduled("requests-only").getMessage()).isEqualTo("container \"main\": nvidia.com/gpu is in requests only: as the"
                + " API server requires for extended resources, set it in limits (requests may be left out or must equal limits)");
        assertThat(warnings("requests-only")).extracting(Event::getReason).containsExactly("InvalidResources");
        assertThat(scheduled("half").getMessage()).startsWith("container \"main\": nvidia.com/gpu: '0.5' must be an integer");
        assertThat(scheduled("whole-in-millis").getStatus()).as("1000m GPUs is one GPU, as Kubernetes reads it").isEqualTo("True");
        assertThat(workloads()).isEqualTo(1);
    }

    @Test
    void aPersistentVolumeClaimIsRefusedInGpuFleetsOwnWords() throws Exception {
        pod("claim", limits("1", "1", "1Gi"), p -> p.editSpec().addNewVolume().withName("data").withNewPersistentVolumeClaim()
                .withClaimName("models").endPersistentVolumeClaim().endVolume().endSpec());
        sync();
        assertThat(scheduled("claim").getReason()).isEqualTo("UnsupportedPodSpec");
        assertThat(scheduled("claim").getMessage()).isEqualTo("spec.volumes[0] (\"data\").persistentVolumeClaim is not supported on"
                + " k8s.gpu: its pods run at the GPU provider and cannot mount the cluster's storage (GPU Fleet's rule, not a Pod"
                + " Security control)");
        assertThat(workloads()).isZero();
    }

    @Test
    void aFieldNotHonouredIsRefusedAndOneThatOnlyWatchesLessRunsWithAWarning() throws Exception {
        pod("shared-pids", limits("1", "1", "1Gi"), p -> p.editSpec().withShareProcessNamespace(true).endSpec());
        sync();
        assertThat(scheduled("shared-pids").getMessage()).isEqualTo("spec.shareProcessNamespace is not supported"
                + " on k8s.gpu yet (containers would not see each other's processes)");
        assertThat(workloads()).as("a pod that would not run as written does not run").isZero();

        // A probe is honoured now (the host runs it): no warning. A message path elsewhere is not, and is said so.
        pod("probed", c -> limits("1", "1", "1Gi").apply(c).withNewReadinessProbe().withNewExec().withCommand("true").endExec()
                .endReadinessProbe().withTerminationMessagePath("/tmp/why"), p -> p);
        sync();
        assertThat(workloads()).isEqualTo(1);
        assertThat(warnings("probed")).singleElement().satisfies(e -> {
            assertThat(e.getReason()).isEqualTo("IgnoredPodFields");
            assertThat(e.getMessage()).isEqualTo("ignored on k8s.gpu (not supported yet; the pod runs without them): "
                    + "spec.containers[0].terminationMessagePath");
        });
    }

    @Test
    void ephemeralContainersAreCheckedAgainstBaselineAndAnsweredWithAWarning() throws Exception {
        pod("debugged", limits("1", "1", "1Gi"), p -> p);
        sync();
        assertThat(workloads()).isEqualTo(1);
        // What kubectl debug does to a running pod: an ephemeral container added to its spec, a plain one and a SYS_ADMIN one.
        Pod p = client.pods().inNamespace("default").withName("debugged").get();
        p.getSpec().setEphemeralContainers(List.of(
                new EphemeralContainerBuilder().withName("debugger-plain").withImage("busybox").build(),
                new EphemeralContainerBuilder().withName("debugger-admin").withImage("busybox").withNewSecurityContext()
                        .withNewCapabilities().addToAdd("SYS_ADMIN").endCapabilities().endSecurityContext().build()));
        client.pods().inNamespace("default").resource(p).update();
        sync();
        sync();
        assertThat(warnings("debugged")).extracting(e -> e.getReason() + ": " + e.getMessage()).containsExactlyInAnyOrder(
                "EphemeralContainersNotSupported: ephemeral container \"debugger-plain\" is not run: ephemeral containers (kubectl"
                        + " debug) are not supported on k8s.gpu yet; kubectl exec reaches the pod's containers",
                "PodSecurityBaseline: ephemeral container \"debugger-admin\" is not run: violates PodSecurity \"baseline\":"
                        + " capabilities (ephemeral container \"debugger-admin\" must not add \"SYS_ADMIN\")");

        pod("born-privileged", limits("1", "1", "1Gi"), b -> b.editSpec().addNewEphemeralContainer().withName("dbg").withImage("busybox")
                .withNewSecurityContext().withPrivileged(true).endSecurityContext().endEphemeralContainer().endSpec());
        sync();
        assertThat(scheduled("born-privileged").getMessage()).isEqualTo("violates PodSecurity \"baseline\": privileged (ephemeral"
                + " container \"dbg\" must not set securityContext.privileged=true)");
        assertThat(workloads()).isEqualTo(1);
    }

    @Test
    void dollarReferencesAreExpandedAsTheKubeletDoes() throws Exception {
        client.configMaps().inNamespace("default").resource(new io.fabric8.kubernetes.api.model.ConfigMapBuilder().withNewMetadata()
                .withName("app").endMetadata().addToData("MODEL", "llama").build()).create();
        Pod p = pod("expanded", c -> limits("1", "1", "1Gi").apply(c).withCommand("sh", "-c").withArgs("serve $(MODEL_DIR) $$(MODEL)")
                .addNewEnvFrom().withNewConfigMapRef().withName("app").endConfigMapRef().endEnvFrom()
                .addNewEnv().withName("EARLY").withValue("$(MODEL_DIR)").endEnv()
                .addNewEnv().withName("MODEL_DIR").withValue("/models/$(MODEL)").endEnv(), b -> b);
        PodResolver.Resolved r = new PodResolver(client, "10.1.2.3").resolve(p);
        assertThat(r.env().get("main")).extracting(e -> e.name() + "=" + e.value())
                .containsExactly("MODEL=llama", "EARLY=$(MODEL_DIR)", "MODEL_DIR=/models/llama");
        var ok = (PodTranslator.Ok) PodTranslator.translate(p, node.syncOnce().offerings().get(0), r);
        assertThat(ok.spec().containers().get(0).args()).containsExactly("serve /models/llama $(MODEL)");
    }
}
