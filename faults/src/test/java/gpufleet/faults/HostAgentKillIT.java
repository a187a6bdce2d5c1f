package gpufleet.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.sql.Connection;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * kill -9 of a host-agent while it creates a burst of containers, then a restart with its
 * credential: each pod ends running once (no container started twice, none left behind by the
 * dead agent), and the database and the engine agree on every GPU.
 */
class HostAgentKillIT {
    static final int PODS = 8;
    FaultFleet fleet;

    @BeforeEach
    void start() throws Exception {
        fleet = new FaultFleet(1);
        fleet.host("faults-k1", 0, 4);
        await().atMost(Duration.ofSeconds(90)).ignoreExceptions().until(() -> fleet.freeGpus("faults-k1") == 8);
    }

    @AfterEach
    void stop() {
        fleet.close();
    }

    @Test
    void anAgentKilledMidCreationRunsEachPodOnceAfterItsRestart() throws Exception {
        Set<String> acknowledged = new HashSet<>();
        for (int i = 0; i < PODS; i++) {
            var r = fleet.replicas.get(0).http().post("/v1/tenants/" + FaultFleet.TENANT + "/workloads", fleet.tenantToken,
                    ReplicaKillIT.pod("kill-" + i));
            assertThat(r.status()).as(r.toString()).isEqualTo(201);
            acknowledged.add("kill-" + i);
        }
        // Killed once it has made some containers and not all: in the middle of its work.
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20)).until(() -> !Commands.run("docker", "ps", "-aq",
                "--filter", "label=org.gpufleet.host=faults-k1").isBlank());
        int made = Commands.run("docker", "ps", "-aq", "--filter", "label=org.gpufleet.host=faults-k1").strip().split("\\s+").length;
        fleet.hosts.get("faults-k1").kill9();
        System.out.printf("host-agent killed with %d of the %d containers made (a sandbox and a container per pod)%n", made, 2 * PODS);
        fleet.host("faults-k1", 0, 4);
        try (Connection db = fleet.db()) {
            await().atMost(Duration.ofSeconds(120)).until(() ->
                    Invariants.count(db, "SELECT count(*) FROM workloads WHERE phase = 'running'") == PODS);
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                    assertThat(Invariants.violations(db, fleet.hosts.keySet(), acknowledged)).isEmpty());
        }
        assertThat(workloadContainers()).as("one running container per pod").isEqualTo(PODS);
    }

    private int workloadContainers() {
        return (int) Docker.managed().stream().filter(b -> b.host().equals("faults-k1") && b.running() && !b.gpus().isEmpty()).count();
    }
}
