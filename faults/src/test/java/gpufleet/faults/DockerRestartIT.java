package gpufleet.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.sql.Connection;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Docker restarted under a running host-agent (a private dockerd with live-restore, as Ansible
 * sets production hosts up): the pods' containers run through it untouched, the agent finds the
 * engine again by itself, reports it ready, and starts and removes pods as before.
 */
class DockerRestartIT {
    FaultFleet fleet;
    PrivateDocker engine;
    final Set<String> acknowledged = new HashSet<>();

    @BeforeEach
    void start() throws Exception {
        fleet = new FaultFleet(1);
        engine = new PrivateDocker(fleet.dir.resolve("engine"));
        fleet.afterPrograms.add(engine);
        fleet.host("faults-d1", 0, 7, Map.of("GPUFLEET_DOCKER_HOST", engine.host, "GPUFLEET_POD_FIREWALL", "off",
                "GPUFLEET_DOCKER_CHECK_INTERVAL", "1s"));
        await().atMost(Duration.ofSeconds(90)).ignoreExceptions().until(() -> fleet.freeGpus("faults-d1") == 8);
    }

    @AfterEach
    void stop() {
        fleet.close();
    }

    void create(String uid) {
        var r = fleet.replicas.get(0).http().post("/v1/tenants/" + FaultFleet.TENANT + "/workloads", fleet.tenantToken,
                ReplicaKillIT.pod(uid));
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
        acknowledged.add(uid);
    }

    @Test
    void theAgentRidesThroughADockerRestart() throws Exception {
        for (int i = 0; i < 3; i++) {
            create("dr-" + i);
        }
        try (Connection db = fleet.db()) {
            await().atMost(Duration.ofSeconds(90)).until(() -> running().size() == 3);
            Map<String, String> before = running();
            engine.restart();
            assertThat(running()).as("live-restore: the same containers run on, never restarted").isEqualTo(before);
            create("dr-3");
            assertThat(fleet.replicas.get(0).http().delete("/v1/tenants/" + FaultFleet.TENANT + "/workloads/dr-0",
                    fleet.tenantToken).status()).isIn(200, 202);
            await().atMost(Duration.ofSeconds(90)).until(() -> Invariants.count(db,
                    "SELECT count(*) FROM workloads WHERE phase = 'running' AND deleted_at IS NULL") == 3
                    && Invariants.count(db, "SELECT count(*) FROM workloads WHERE deleted_at IS NOT NULL") == 1);
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(Invariants.violations(db, fleet.hosts.keySet(),
                    acknowledged, Docker.managed(engine.host))).isEmpty());
            var host = fleet.replicas.get(0).http().get("/v1/hosts/faults-d1", FaultFleet.OPERATOR).json();
            assertThat(host.at("/host/conditions").toString()).contains("\"type\":\"ContainerRuntimeReady\",\"status\":\"True\"");
            System.out.printf("docker restarted under the agent: %d containers ran through it; afterwards a pod started and one was removed%n",
                    before.size());
        }
    }

    /** Running workload containers on the private engine: id → the workload. */
    private Map<String, String> running() {
        Map<String, String> out = new TreeMap<>();
        for (Docker.Box b : Docker.managed(engine.host)) {
            if (b.running() && !b.gpus().isEmpty()) {
                out.put(b.id(), b.workload());
            }
        }
        return out;
    }
}
