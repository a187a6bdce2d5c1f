package gpufleet.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * kill -9 of the tenant-agent (its own process, against the mock API server over HTTP) while pods
 * are created and deleted: after its restart every pod that exists runs once at the provider with
 * its status written back, every pod deleted meanwhile is gone at the provider too, and the
 * invariants hold.
 */
@EnableKubernetesMockClient(crud = true, https = false)
class TenantAgentKillIT {
    KubernetesClient client;
    FaultFleet fleet;
    Proc agent;
    Map<String, String> agentEnv;

    @BeforeEach
    void start() throws Exception {
        fleet = new FaultFleet(1);
        fleet.host("faults-t1", 0, 6);
        await().atMost(Duration.ofSeconds(90)).ignoreExceptions().until(() -> fleet.freeGpus("faults-t1") == 8);
        Path kubeconfig = fleet.dir.resolve("kubeconfig");
        Files.writeString(kubeconfig, """
                apiVersion: v1
                kind: Config
                clusters: [{name: mock, cluster: {server: "%s"}}]
                users: [{name: agent, user: {token: mock}}]
                contexts: [{name: mock, context: {cluster: mock, user: agent, namespace: default}}]
                current-context: mock
                """.formatted(client.getMasterUrl()));
        agentEnv = new HashMap<>(Map.of("KUBECONFIG", kubeconfig.toString(),
                "GPUFLEET_CONTROL_API_URL", "http://127.0.0.1:" + fleet.replicas.get(0).port(),
                "GPUFLEET_TENANT_TOKEN", fleet.tenantToken, "GPUFLEET_KUBELET_TLS", "off",
                "GPUFLEET_KUBELET_PORT", Integer.toString(Ports.free()), "GPUFLEET_KUBELET_BIND_ADDRESS", "127.0.0.1",
                "GPUFLEET_SYNC_INTERVAL", "1s", "GPUFLEET_STATUS_REFRESH", "2s"));
        agent = new Proc("tenant-agent", Proc.jar("tenant-agent"), List.of("run"), agentEnv).start();
        await().atMost(Duration.ofSeconds(90)).until(() -> client.nodes().withName("k8s.gpu").get() != null);
    }

    @AfterEach
    void stop() {
        agent.close();
        fleet.close();
    }

    Pod pod(String name) {
        return client.pods().inNamespace("default").resource(new PodBuilder()
                .withNewMetadata().withName(name).withNamespace("default").endMetadata()
                .withNewSpec().withNodeName("k8s.gpu").withRuntimeClassName(FaultFleet.OFFERING).withRestartPolicy("Always")
                .withContainers(new ContainerBuilder().withName("main").withImage("gpufleet/busybox:test")
                        .withCommand("sleep", "3600").withNewResources().addToLimits("nvidia.com/gpu", new Quantity("1"))
                        .addToLimits("cpu", new Quantity("50m")).addToLimits("memory", new Quantity("32Mi")).endResources().build())
                .endSpec().build()).create();
    }

    @Test
    void aKilledTenantAgentCatchesUpWithEveryPodCreatedAndDeleted() throws Exception {
        Map<String, String> uids = new HashMap<>();
        for (int i = 0; i < 6; i++) {
            uids.put("tk-" + i, pod("tk-" + i).getMetadata().getUid());
        }
        try (Connection db = fleet.db()) {
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50))
                    .until(() -> Invariants.count(db, "SELECT count(*) FROM workloads") >= 2);
            agent.kill9();
            long stored = Invariants.count(db, "SELECT count(*) FROM workloads");
            // While the agent is dead: two pods deleted (one already at the provider, surely), two more created.
            client.pods().inNamespace("default").withName("tk-0").delete();
            client.pods().inNamespace("default").withName("tk-5").delete();
            for (int i = 6; i < 8; i++) {
                uids.put("tk-" + i, pod("tk-" + i).getMetadata().getUid());
            }
            System.out.printf("tenant-agent killed with %d of 6 pods at the provider; 2 deleted and 2 created while it was down%n",
                    stored);
            agent = new Proc("tenant-agent", Proc.jar("tenant-agent"), List.of("run"), agentEnv).start();
            await().atMost(Duration.ofSeconds(120)).until(() -> Invariants.count(db, """
                    SELECT count(*) FROM workloads WHERE phase = 'running' AND deleted_at IS NULL""") == 6);
            await().atMost(Duration.ofSeconds(60)).until(() -> client.pods().inNamespace("default").list().getItems().stream()
                    .allMatch(p -> p.getStatus() != null && "Running".equals(p.getStatus().getPhase())));
            // Their containers get the pod's grace period (30 s: sleep ignores SIGTERM) before they are gone.
            await("deleted pods are gone at the provider").atMost(Duration.ofSeconds(90)).until(() -> Invariants.count(db,
                    "SELECT count(*) FROM workloads WHERE deleted_at IS NULL AND pod_uid IN ("
                            + quoted(Set.of(uids.get("tk-0"), uids.get("tk-5"))) + ")") == 0);
            Set<String> live = new HashSet<>();
            client.pods().inNamespace("default").list().getItems().forEach(p -> live.add(p.getMetadata().getUid()));
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                    assertThat(Invariants.violations(db, fleet.hosts.keySet(), live)).isEmpty());
        }
    }

    private static String quoted(Set<String> values) {
        return String.join(", ", values.stream().map(v -> "'" + v.replace("'", "''") + "'").toList());
    }
}
