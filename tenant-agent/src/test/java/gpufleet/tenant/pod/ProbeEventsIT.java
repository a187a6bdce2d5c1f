package gpufleet.tenant.pod;

import static org.assertj.core.api.Assertions.assertThat;

import gpufleet.control.support.ApiFixture;
import gpufleet.tenant.agent.TenantAgentConfig;
import gpufleet.tenant.node.NodeController;
import gpufleet.tenant.provider.ProviderClient;
import gpufleet.tenant.provider.ProviderPods;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the host's probes found, in the tenant's cluster: the pod's Ready and ContainersReady
 * conditions follow the container's readiness, and the host's Events (Unhealthy, Killing) are
 * recorded as the kubelet words them, even when the pod's status shows no change. Mock API
 * server, a real control-api on PostgreSQL; the host's reports are sent as a host-agent sends them.
 */
@EnableKubernetesMockClient(crud = true)
class ProbeEventsIT {
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
        Map<String, String> env = new HashMap<>();
        env.put("GPUFLEET_CONTROL_API_URL", "http://127.0.0.1:" + fx.api.port());
        env.put("GPUFLEET_TENANT_TOKEN", token);
        env.put("POD_IP", "10.1.2.3");
        TenantAgentConfig config = TenantAgentConfig.fromEnvironment(env);
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

    private String condition(String type) {
        return client.pods().inNamespace("default").withName("web").get().getStatus().getConditions().stream()
                .filter(c -> c.getType().equals(type)).findFirst().orElseThrow().getStatus();
    }

    private List<String> events() {
        return client.v1().events().inNamespace("default").list().getItems().stream()
                .map((Event e) -> e.getType() + " " + e.getReason() + ": " + e.getMessage()).toList();
    }

    private static Map<String, Object> event(String key, String type, String reason, String message) {
        return Map.of("key", key, "type", type, "reason", reason, "message", message);
    }

    private void report(String workload, int generation, boolean ready, int restarts, List<Map<String, Object>> events) {
        Map<String, Object> c = new HashMap<>(Map.of("name", "web", "state", "running", "ready", ready, "restartCount", restarts,
                "startedAt", "2026-12-06T10:00:00Z", "containerId", "docker://abc", "events", events));
        assertThat(fx.http.put("/v1/hosts/" + host.id() + "/workloads/" + workload + "/status", host.token(),
                Map.of("generation", generation, "containers", List.of(c))).status()).isEqualTo(200);
    }

    @Test
    void readinessDrivesTheConditionsAndTheHostsProbeEventsAreRecordedInTheKubeletsWords() throws Exception {
        Pod p = client.pods().inNamespace("default").resource(new PodBuilder()
                .withNewMetadata().withName("web").withNamespace("default").endMetadata()
                .withNewSpec().withNodeName("k8s.gpu").withRuntimeClassName("seeweb-nvidia-1xa6000")
                .addToContainers(new ContainerBuilder().withName("web").withImage("gpufleet/busybox:test")
                        .withNewReadinessProbe().withNewHttpGet().withPath("/ready").withNewPort(8080).endHttpGet().endReadinessProbe()
                        .withNewResources().addToLimits("nvidia.com/gpu", new Quantity("1")).endResources().build())
                .endSpec().build()).create();
        sync();
        String id = fx.http.get("/v1/tenants/skg00000/workloads/" + p.getMetadata().getUid(), token).json().get("id").asText();
        String failed = "Readiness probe failed: HTTP probe failed with statuscode: 503";
        report(id, 1, false, 0, List.of());
        sync();
        assertThat(condition("Ready")).isEqualTo("False");
        assertThat(condition("ContainersReady")).isEqualTo("False");
        // The probe fails while the container stays unready: nothing in the status moves, the Event is recorded all the same.
        report(id, 2, false, 0, List.of(event("unhealthy.readiness.0.1.a", "Warning", "Unhealthy", failed)));
        sync();
        assertThat(events()).contains("Warning Unhealthy: " + failed);
        report(id, 3, true, 0, List.of(event("unhealthy.readiness.0.1.a", "Warning", "Unhealthy", failed)));
        sync();
        assertThat(condition("Ready")).isEqualTo("True");
        assertThat(condition("ContainersReady")).isEqualTo("True");
        assertThat(events()).as("an Event reported again is recorded once").filteredOn(("Warning Unhealthy: " + failed)::equals).hasSize(1);
        report(id, 4, true, 1, List.of(event("unhealthy.liveness.0.1.b", "Warning", "Unhealthy", "Liveness probe failed:"),
                event("killing.liveness.0", "Normal", "Killing", "Container web failed liveness probe, will be restarted")));
        sync();
        assertThat(events()).contains("Warning Unhealthy: Liveness probe failed:",
                "Normal Killing: Container web failed liveness probe, will be restarted");
    }
}
