package gpufleet.tenant.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Http;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two clusters of one tenant, each with its own tenant-agent (two mock API servers) and one
 * control-api: each agent's pods run, neither agent deletes the other's workloads as "pods gone",
 * and deleting a pod in one cluster leaves the other's pod running.
 */
class TwoClustersIT {
    ApiFixture fx;
    ApiFixture.Host host;
    String token;
    final List<AutoCloseable> closing = new ArrayList<>();

    /** One cluster: its API server, client, kube-system UID (its id) and agent. */
    record Cluster(KubernetesClient k8s, String id, TenantAgent agent) {}

    @BeforeEach
    void start() {
        fx = ApiFixture.start();
        fx.seedOfferings();
        host = fx.seedHost("a6000-pool");
        token = fx.tenant("skg00000", List.of("seeweb-nvidia-1xa6000"));
    }

    @AfterEach
    void stop() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
        fx.close();
    }

    private Cluster cluster() {
        KubernetesMockServer server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                new KubernetesCrudDispatcher(), false);
        server.init();
        closing.add(server::destroy);
        KubernetesClient k8s = server.createClient();
        closing.add(k8s);
        String id = k8s.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName("kube-system").endMetadata().build())
                .create().getMetadata().getUid();
        TenantAgent agent = new TenantAgent(TenantAgentConfig.fromEnvironment(Map.of(
                "GPUFLEET_CONTROL_API_URL", "http://127.0.0.1:" + fx.api.port(), "GPUFLEET_TENANT_TOKEN", token,
                "GPUFLEET_SYNC_INTERVAL", "1s", "GPUFLEET_POD_SYNC_INTERVAL", "200ms")), k8s);
        closing.add(agent);
        return new Cluster(k8s, id, agent);
    }

    private static Pod pod(Cluster c, String name) {
        return c.k8s().pods().inNamespace("default").resource(new PodBuilder()
                .withNewMetadata().withName(name).withNamespace("default").endMetadata()
                .withNewSpec().withNodeName("k8s.gpu").withRuntimeClassName("seeweb-nvidia-1xa6000")
                .withContainers(new ContainerBuilder().withName("main").withImage("gpufleet/busybox:test")
                        .withNewResources().addToLimits("nvidia.com/gpu", new Quantity("1")).endResources().build())
                .endSpec().build()).create();
    }

    private JsonNode workload(String uid) {
        Http.Response r = fx.http.get("/v1/tenants/skg00000/workloads/" + uid, token);
        return r.status() == 404 ? null : r.json();
    }

    private List<String> listed(Cluster c) {
        List<String> out = new ArrayList<>();
        fx.http.get("/v1/tenants/skg00000/workloads?cluster=" + c.id(), token).json().get("items")
                .forEach(w -> out.add(w.get("podUid").asText()));
        return out;
    }

    /** The host runs the workload's container, as a host-agent reports it. */
    private void run(String uid) {
        String id = workload(uid).get("id").asText();
        assertThat(fx.http.put("/v1/hosts/" + host.id() + "/workloads/" + id + "/status", host.token(), Map.of("generation", 1,
                "containers", List.of(Map.of("name", "main", "state", "running", "ready", true)))).status()).isEqualTo(200);
    }

    private static String phase(Cluster c, String name) {
        Pod p = c.k8s().pods().inNamespace("default").withName(name).get();
        return p == null || p.getStatus() == null ? null : p.getStatus().getPhase();
    }

    @Test
    void twoClustersOfOneTenantRunSideBySideAndNeitherTouchesTheOthersPods() throws Exception {
        Cluster east = cluster();
        Cluster west = cluster();
        assertThat(east.id()).isNotEqualTo(west.id());
        String e1 = pod(east, "trainer").getMetadata().getUid();
        String w1 = pod(west, "trainer").getMetadata().getUid();

        await().atMost(Duration.ofSeconds(30)).until(() -> workload(e1) != null && workload(w1) != null);
        assertThat(listed(east)).containsExactly(e1);
        assertThat(listed(west)).containsExactly(w1);
        run(e1);
        run(w1);
        await().atMost(Duration.ofSeconds(30)).until(() -> "Running".equals(phase(east, "trainer"))
                && "Running".equals(phase(west, "trainer")));

        Thread.sleep(2000); // ten resyncs of each agent: neither takes the other's workload for one whose pod is gone
        assertThat(workload(e1).get("deletionRequested").asBoolean()).isFalse();
        assertThat(workload(w1).get("deletionRequested").asBoolean()).isFalse();

        east.k8s().pods().inNamespace("default").withName("trainer").delete();
        await().atMost(Duration.ofSeconds(30)).until(() -> workload(e1).get("deletionRequested").asBoolean());
        Thread.sleep(1000);
        assertThat(workload(w1).get("deletionRequested").asBoolean()).as("west's pod of the same name runs on").isFalse();
        assertThat(phase(west, "trainer")).isEqualTo("Running");
    }
}
