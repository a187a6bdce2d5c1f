package gpufleet.tenant.node;

import static org.assertj.core.api.Assertions.assertThat;

import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Pods;
import gpufleet.tenant.agent.TenantAgentConfig;
import gpufleet.tenant.provider.ProviderClient;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeCondition;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.node.v1.RuntimeClass;
import io.fabric8.kubernetes.api.model.node.v1.RuntimeClassBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.net.URI;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The virtual node and its RuntimeClasses, against fabric8's mock API server in CRUD mode and a
 * real control-api on PostgreSQL: the seed's figures and classes.
 */
@EnableKubernetesMockClient(crud = true)
class VirtualNodeIT {
    KubernetesClient client;
    ApiFixture fx;
    String token;
    NodeController controller;

    @BeforeEach
    void start() {
        fx = ApiFixture.start();
        fx.seedOfferings();
        fx.seedHost("a6000-pool");
        token = fx.tenant("skg00000", List.of("seeweb-nvidia-1xa6000", "seeweb-nvidia-2xa6000"));
        Map<String, String> env = new HashMap<>();
        env.put("GPUFLEET_CONTROL_API_URL", "http://127.0.0.1:" + fx.api.port());
        env.put("GPUFLEET_TENANT_TOKEN", token);
        TenantAgentConfig config = TenantAgentConfig.fromEnvironment(env);
        controller = new NodeController(client, new ProviderClient(config.controlApi(), config.tenantToken()), config, () -> null);
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    private Map<String, String> figures(Map<String, Quantity> q) {
        Map<String, String> m = new HashMap<>();
        q.forEach((k, v) -> m.put(k, v.toString()));
        return m;
    }

    private static NodeCondition condition(Node n, String type) {
        return n.getStatus().getConditions().stream().filter(c -> c.getType().equals(type)).findFirst().orElseThrow();
    }

    @Test
    void theNodeAppearsWithTheSeedsCapacityLabelsAndTaint() {
        controller.syncOnce();
        Node n = client.nodes().withName("k8s.gpu").get();
        assertThat(n.getMetadata().getLabels()).containsEntry("type", "virtual-kubelet").containsEntry("kubernetes.io/role", "agent")
                .containsEntry("kubernetes.io/hostname", "k8s.gpu");
        assertThat(n.getSpec().getTaints()).singleElement().satisfies(t -> {
            assertThat(t.getKey()).isEqualTo("virtual-kubelet.io/provider");
            assertThat(t.getEffect()).isEqualTo("NoSchedule");
        });
        Map<String, String> seed = Map.of("cpu", "63", "memory", "263567056Ki", "nvidia.com/gpu", "8", "pods", "8");
        assertThat(figures(n.getStatus().getCapacity())).isEqualTo(seed);
        assertThat(figures(n.getStatus().getAllocatable())).isEqualTo(seed);
        assertThat(condition(n, "Ready").getStatus()).isEqualTo("True");
        assertThat(condition(n, "ProviderReachable").getStatus()).isEqualTo("True");
        assertThat(n.getStatus().getDaemonEndpoints().getKubeletEndpoint().getPort()).isEqualTo(10250);
        Lease lease = client.leases().inNamespace("kube-node-lease").withName("k8s.gpu").get();
        assertThat(lease.getSpec().getHolderIdentity()).isEqualTo("k8s.gpu");
        assertThat(lease.getSpec().getLeaseDurationSeconds()).isEqualTo(40);
        assertThat(lease.getMetadata().getOwnerReferences()).singleElement().satisfies(o -> assertThat(o.getKind()).isEqualTo("Node"));
    }

    @Test
    void allocatableDropsToTheSeedsNumbersAfterOnePod() {
        controller.syncOnce();
        assertThat(fx.http.post("/v1/tenants/skg00000/workloads", token, Pods.seedPod("uid-1")).status()).isEqualTo(201);
        controller.syncOnce();
        Node n = client.nodes().withName("k8s.gpu").get();
        assertThat(figures(n.getStatus().getCapacity())).isEqualTo(Map.of("cpu", "63", "memory", "263567056Ki", "nvidia.com/gpu", "8", "pods", "8"));
        assertThat(figures(n.getStatus().getAllocatable())).isEqualTo(Map.of("cpu", "61", "memory", "246789840Ki", "nvidia.com/gpu", "7", "pods", "7"));
    }

    /**
     * The seed's pod bound to the node: the scheduler counts its requests itself, so allocatable
     * stays at capacity and what `kubectl describe node` shows free is the seed's 61 / 246789840Ki / 7 / 7.
     */
    @Test
    void theSeedsPodOnTheNodeLeavesTheSeedsNumbersFreeToTheScheduler() {
        controller.syncOnce();
        assertThat(fx.http.post("/v1/tenants/skg00000/workloads", token, Pods.seedPod("uid-1")).status()).isEqualTo(201);
        client.pods().inNamespace("default").resource(new PodBuilder().withNewMetadata()
                .withName("nvidia-smi").endMetadata().withNewSpec().withNodeName("k8s.gpu").withRestartPolicy("OnFailure")
                .withRuntimeClassName("seeweb-nvidia-1xa6000").addNewContainer().withName("nvidia").withImage("nvidia/cuda")
                .withNewResources().withLimits(Map.of("nvidia.com/gpu", new Quantity("1"), "memory", new Quantity("16Gi"),
                        "cpu", new Quantity("2"))).endResources().endContainer().endSpec().build()).create();
        controller.syncOnce();
        Node n = client.nodes().withName("k8s.gpu").get();
        Map<String, String> seed = Map.of("cpu", "63", "memory", "263567056Ki", "nvidia.com/gpu", "8", "pods", "8");
        assertThat(figures(n.getStatus().getAllocatable())).isEqualTo(seed);
        assertThat(Quantity.getAmountInBytes(n.getStatus().getAllocatable().get("memory"))
                .subtract(Quantity.getAmountInBytes(new Quantity("16Gi"))))
                .isEqualByComparingTo(Quantity.getAmountInBytes(new Quantity("246789840Ki")));
        Pod another = client.pods().inNamespace("default").withName("nvidia-smi").get();
        another.getMetadata().setName("another");
        another.getMetadata().setUid(null);
        assertThat(SchedulerFit.refusals(another, n, client.pods().inAnyNamespace().list().getItems()))
                .as("a second seed pod fits the 7 GPUs left").isEmpty();
    }

    /**
     * In the agent the node's pods are the pod informer's copy, read every round instead of a list
     * of the cluster's pods: a pod it holds counts though this API server was never asked.
     */
    @Test
    void theNodeCountsThePodsThePodInformerHolds() {
        Pod held = new PodBuilder().withNewMetadata()
                .withName("nvidia-smi").withNamespace("default").withUid("held-by-the-informer").endMetadata().withNewSpec()
                .withNodeName("k8s.gpu").withRuntimeClassName("seeweb-nvidia-1xa6000").addNewContainer().withName("nvidia")
                .withImage("nvidia/cuda").withNewResources().withLimits(Map.of("nvidia.com/gpu", new Quantity("1"), "memory",
                        new Quantity("16Gi"), "cpu", new Quantity("2"))).endResources().endContainer().endSpec().build();
        NodeController fromInformer = new NodeController(client, new ProviderClient(URI.create("http://127.0.0.1:" + fx.api.port()),
                token), TenantAgentConfig.fromEnvironment(Map.of("GPUFLEET_CONTROL_API_URL", "http://127.0.0.1:" + fx.api.port(),
                "GPUFLEET_TENANT_TOKEN", token)), () -> List.of(held));
        fromInformer.syncOnce();
        assertThat(fx.http.post("/v1/tenants/skg00000/workloads", token, Pods.seedPod("uid-1")).status()).isEqualTo(201);
        fromInformer.syncOnce();
        assertThat(figures(client.nodes().withName("k8s.gpu").get().getStatus().getAllocatable()))
                .as("the held pod's GPU is the scheduler's to count: 8 left to it, not 7")
                .isEqualTo(Map.of("cpu", "63", "memory", "263567056Ki", "nvidia.com/gpu", "8", "pods", "8"));
    }

    @Test
    void oneRuntimeClassPerOfferingWithTheSeedsAnnotationsAndScheduling() {
        client.runtimeClasses().resource(new RuntimeClassBuilder().withNewMetadata().withName("someone-elses").endMetadata()
                .withHandler("runc").build()).create();
        controller.syncOnce();
        List<RuntimeClass> classes = client.runtimeClasses().withLabel(RuntimeClasses.MANAGED_BY, RuntimeClasses.AGENT).list().getItems();
        assertThat(classes).extracting(c -> c.getMetadata().getName()).containsExactlyInAnyOrder("seeweb-nvidia-1xa6000", "seeweb-nvidia-2xa6000");
        RuntimeClass one = client.runtimeClasses().withName("seeweb-nvidia-1xa6000").get();
        assertThat(one.getHandler()).isEqualTo("nvidia");
        assertThat(one.getMetadata().getAnnotations()).isEqualTo(Map.of("limits.k8s.gpu/cpu", "8000m",
                "limits.k8s.gpu/memory", "32861620Ki", "limits.k8s.gpu/default", "1"));
        assertThat(one.getScheduling().getNodeSelector()).containsEntry("kubernetes.io/hostname", "k8s.gpu");
        assertThat(one.getScheduling().getTolerations()).singleElement().satisfies(t -> {
            assertThat(t.getKey()).isEqualTo("virtual-kubelet.io/provider");
            assertThat(t.getValue()).isEqualTo("k8s.gpu");
        });
        assertThat(client.runtimeClasses().withName("seeweb-nvidia-2xa6000").get().getMetadata().getAnnotations())
                .containsEntry("limits.k8s.gpu/default", "2");

        fx.http.put("/v1/tenants/skg00000/offerings", ApiFixture.OPERATOR, Map.of("offerings", List.of("seeweb-nvidia-1xa6000")));
        controller.syncOnce();
        assertThat(client.runtimeClasses().withName("seeweb-nvidia-2xa6000").get()).as("no longer offered: removed").isNull();
        assertThat(client.runtimeClasses().withName("seeweb-nvidia-1xa6000").get()).isNotNull();
        assertThat(client.runtimeClasses().withName("someone-elses").get()).as("never touched").isNotNull();
    }

    @Test
    void whenTheProviderIsUnreachableTheNodeSaysSoAndStaysReady() {
        controller.syncOnce();
        fx.api.close();
        controller.syncOnce();
        Node n = client.nodes().withName("k8s.gpu").get();
        assertThat(condition(n, "ProviderReachable").getStatus()).isEqualTo("False");
        assertThat(condition(n, "ProviderReachable").getReason()).isEqualTo("ControlApiUnreachable");
        assertThat(condition(n, "Ready").getStatus()).as("pods keep running at the provider: no eviction").isEqualTo("True");
        assertThat(figures(n.getStatus().getCapacity())).containsEntry("nvidia.com/gpu", "8");
        assertThat(client.runtimeClasses().withName("seeweb-nvidia-1xa6000").get()).as("classes are kept").isNotNull();
    }
}
