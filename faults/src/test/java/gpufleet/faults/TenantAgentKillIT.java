package gpufleet.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.sql.Connection;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * kill -9 of the tenant-agent (its own process, against the mock API server over HTTP) while pods
 * are created and deleted: after its restart every pod that exists runs once at the provider with
 * its status written back, every pod deleted meanwhile is gone at the provider too, and the
 * invariants hold, each pod's status in the cluster ending equal to the provider's.
 */
@EnableKubernetesMockClient(crud = true, https = false)
class TenantAgentKillIT {
    KubernetesClient client;
    FaultFleet fleet;
    TenantCluster cluster;

    @BeforeEach
    void start() throws Exception {
        fleet = new FaultFleet(1);
        fleet.host("faults-t1", 0, 6);
        await().atMost(Duration.ofSeconds(90)).ignoreExceptions().until(() -> fleet.freeGpus("faults-t1") == 8);
        cluster = new TenantCluster(fleet, client, FaultFleet.TENANT, fleet.tenantToken, 0);
    }

    @AfterEach
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
        fleet.close();
    }

    @Test
    void aKilledTenantAgentCatchesUpWithEveryPodCreatedAndDeleted() throws Exception {
        Map<String, String> uids = new HashMap<>();
        for (int i = 0; i < 6; i++) {
            uids.put("tk-" + i, cluster.pod("tk-" + i).getMetadata().getUid());
        }
        try (Connection db = fleet.db()) {
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50))
                    .until(() -> Invariants.count(db, "SELECT count(*) FROM workloads") >= 2);
            cluster.agent.kill9();
            long stored = Invariants.count(db, "SELECT count(*) FROM workloads");
            // While the agent is dead: two pods deleted (one already at the provider, surely), two more created.
            client.pods().inNamespace("default").withName("tk-0").delete();
            client.pods().inNamespace("default").withName("tk-5").delete();
            for (int i = 6; i < 8; i++) {
                uids.put("tk-" + i, cluster.pod("tk-" + i).getMetadata().getUid());
            }
            System.out.printf("tenant-agent killed with %d of 6 pods at the provider; 2 deleted and 2 created while it was down%n",
                    stored);
            cluster.start();
            await().atMost(Duration.ofSeconds(120)).until(() -> Invariants.count(db, """
                    SELECT count(*) FROM workloads WHERE phase = 'running' AND deleted_at IS NULL""") == 6);
            await().atMost(Duration.ofSeconds(60)).until(() -> client.pods().inNamespace("default").list().getItems().stream()
                    .allMatch(p -> p.getStatus() != null && "Running".equals(p.getStatus().getPhase())));
            // Their containers get the pod's grace period (2 s: sleep ignores SIGTERM) before they are gone.
            await("deleted pods are gone at the provider").atMost(Duration.ofSeconds(60)).until(() -> Invariants.count(db,
                    "SELECT count(*) FROM workloads WHERE deleted_at IS NULL AND pod_uid IN ("
                            + quoted(Set.of(uids.get("tk-0"), uids.get("tk-5"))) + ")") == 0);
            Set<String> live = new HashSet<>();
            client.pods().inNamespace("default").list().getItems().forEach(p -> live.add(p.getMetadata().getUid()));
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
                assertThat(Invariants.violations(db, fleet.hosts.keySet(), live)).isEmpty();
                assertThat(cluster.disagreements(db)).as("each pod's status in the cluster equals the provider's").isEmpty();
            });
        }
    }

    private static String quoted(Set<String> values) {
        return String.join(", ", values.stream().map(v -> "'" + v.replace("'", "''") + "'").toList());
    }
}
