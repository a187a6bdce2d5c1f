package gpufleet.tenant.pod;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.control.support.ApiFixture;
import gpufleet.tenant.agent.TenantAgentConfig;
import gpufleet.tenant.node.NodeController;
import gpufleet.tenant.provider.ProviderClient;
import gpufleet.tenant.provider.ProviderPods;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** An operator drains the host a pod runs on: the pod fails with reason Evicted, as on a drained Kubernetes node. */
@EnableKubernetesMockClient(crud = true)
class EvictionIT {
    KubernetesClient client;
    ApiFixture fx;
    ApiFixture.Host host;
    String token;
    NodeController node;
    PodController pods;
    ProviderClient provider;

    @BeforeEach
    void start() {
        fx = ApiFixture.start();
        fx.seedOfferings();
        host = fx.seedHost("a6000-pool");
        token = fx.tenant("skg00000", List.of("seeweb-nvidia-1xa6000"));
        TenantAgentConfig config = TenantAgentConfig.fromEnvironment(Map.of("GPUFLEET_CONTROL_API_URL",
                "http://127.0.0.1:" + fx.api.port(), "GPUFLEET_TENANT_TOKEN", token, "POD_IP", "10.1.2.3"));
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

    private Pod get() {
        return client.pods().inNamespace("default").withName("trainer").get();
    }

    private void report(String workload, Map<String, Object> status) {
        assertThat(fx.http.put("/v1/hosts/" + host.id() + "/workloads/" + workload + "/status", host.token(), status).status())
                .isEqualTo(200);
    }

    @Test
    void aDrainedHostsPodFailsWithReasonEvictedAndStaysSoUntilDeleted() throws Exception {
        Pod p = client.pods().inNamespace("default").resource(new PodBuilder().withNewMetadata().withName("trainer")
                .withNamespace("default").withFinalizers("example.com/hold").endMetadata().withNewSpec().withNodeName("k8s.gpu")
                .withRuntimeClassName("seeweb-nvidia-1xa6000").withContainers(new ContainerBuilder().withName("main")
                        .withImage("gpufleet/busybox:test").withNewResources().addToLimits("nvidia.com/gpu", new Quantity("1"))
                        .endResources().build()).endSpec().build()).create();
        sync();
        String uid = p.getMetadata().getUid();
        String id = fx.http.get("/v1/tenants/skg00000/workloads/" + uid, token).json().get("id").asText();
        report(id, Map.of("generation", 1, "containers", List.of(Map.of("name", "main", "state", "running", "ready", true))));
        sync();
        assertThat(get().getStatus().getPhase()).isEqualTo("Running");

        assertThat(fx.http.post("/v1/hosts/a6000-pool/drain", ApiFixture.OPERATOR, null).status()).isEqualTo(200);
        sync();
        assertThat(get().getStatus().getPhase()).isEqualTo("Failed");
        assertThat(get().getStatus().getReason()).isEqualTo("Evicted");
        assertThat(get().getStatus().getMessage()).isEqualTo("host a6000-pool was drained by an operator");

        report(id, Map.of("generation", 2, "gone", true));
        sync();
        assertThat(get().getStatus().getReason()).as("its GPUs are free; the pod stays Failed/Evicted").isEqualTo("Evicted");
        NodeController.Provider session = node.syncOnce();
        assertThat(pods.syncOnce(new ProviderPods(provider, session.tenant()), session.offerings())).as("a finished pod is not sent again, nothing is moving").isFalse();
        assertThat(fx.http.get("/v1/tenants/skg00000/workloads/" + uid, token).json().get("phase").asText()).isEqualTo("failed");
        assertThat(fx.http.get("/v1/gpus?host=a6000-pool&state=allocated", ApiFixture.OPERATOR).json().get("items")).isEmpty();

        client.pods().inNamespace("default").withName("trainer").delete();
        sync();
        JsonNode w = fx.http.get("/v1/tenants/skg00000/workloads/" + uid, token).json();
        assertThat(w.get("phase").asText()).as("deleting the evicted pod completes at once").isEqualTo("deleted");
    }
}
