package gpufleet.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.sql.Connection;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A host cut off from the control-api for longer than its cut-off: it stops its own workloads
 * (self-fencing) before the control-api declares it lost and frees its GPUs (the fencing order:
 * a GPU is never given out while an old container may still run on it); when the road is open
 * again the host rejoins clean and takes the pods that waited.
 */
class PartitionIT {
    static final Duration CUTOFF = Duration.ofSeconds(15);
    static final Duration LOST_AFTER = Duration.ofSeconds(35);
    FaultFleet fleet;
    Partition road;
    final Set<String> acknowledged = new HashSet<>();

    @BeforeEach
    void start() throws Exception {
        fleet = new FaultFleet(1, Map.of("GPUFLEET_LOST_AFTER", LOST_AFTER.toSeconds() + "s"));
        road = new Partition(fleet.replicas.get(0).port());
        fleet.host("faults-p1", 0, 5, Map.of("GPUFLEET_CONTROL_API_URL", "http://127.0.0.1:" + road.port,
                "GPUFLEET_CUTOFF_AFTER", CUTOFF.toSeconds() + "s"));
        await().atMost(Duration.ofSeconds(90)).ignoreExceptions().until(() -> fleet.freeGpus("faults-p1") == 8);
    }

    @AfterEach
    void stop() {
        road.close();
        fleet.close();
    }

    void create(String uid) {
        create(uid, 30);
    }

    void create(String uid, int grace) {
        var r = fleet.replicas.get(0).http().post("/v1/tenants/" + FaultFleet.TENANT + "/workloads", fleet.tenantToken,
                ReplicaKillIT.pod(uid, grace));
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
        acknowledged.add(uid);
    }

    @Test
    void aCutOffHostFencesItselfBeforeItsGpusAreFreedAndRejoinsClean() throws Exception {
        for (int i = 0; i < 7; i++) {
            create("part-" + i);
        }
        // Deleted before the cut with an hour's grace (busybox's sleep ignores SIGTERM): its stop
        // holds the pod's worker, so the fence must kill it some other way, before the GPUs go.
        create("part-stopping", 3600);
        try (Connection db = fleet.db()) {
            await().atMost(Duration.ofSeconds(90)).until(() -> running() == 8);
            assertThat(fleet.replicas.get(0).http().delete("/v1/tenants/" + FaultFleet.TENANT + "/workloads/part-stopping",
                    fleet.tenantToken).status()).isIn(200, 202);
            create("part-waiting-0");
            create("part-waiting-1");
            Thread.sleep(3000); // the host has begun the long stop
            assertThat(running()).as("the deleted pod is in its graceful stop").isEqualTo(8);

            road.cut();
            long cut = System.nanoTime();
            Long fenced = null;
            Long freed = null;
            while (freed == null) {
                assertThat(seconds(cut)).as("the host was never declared lost").isLessThan(LOST_AFTER.toSeconds() + 60.0);
                boolean anyRunning = running() > 0;
                if (fenced == null && !anyRunning) {
                    fenced = System.nanoTime();
                }
                long held = Invariants.count(db, """
                        SELECT count(*) FROM gpu_allocations a JOIN gpus g ON g.uuid = a.gpu_uuid JOIN hosts h ON h.id = g.host_id
                        WHERE h.name = 'faults-p1' AND a.released_at IS NULL""");
                if (held == 0) {
                    freed = System.nanoTime();
                    assertThat(anyRunning).as("the GPUs were freed while a container of the cut-off host still ran").isFalse();
                }
                Thread.sleep(200);
            }
            assertThat(fenced).as("the host stopped its workloads by itself").isNotNull();
            System.out.printf("partition: the host fenced itself after %.1f s (cut-off %d s); its GPUs were freed after %.1f s "
                    + "(lost after %d s)%n", (fenced - cut) / 1e9, CUTOFF.toSeconds(), (freed - cut) / 1e9, LOST_AFTER.toSeconds());
            assertThat((fenced - cut) / 1e9).isGreaterThanOrEqualTo(CUTOFF.toSeconds() - 1.0);
            assertThat(fenced).isLessThan(freed);
            assertThat(Invariants.count(db, "SELECT count(*) FROM workloads WHERE phase = 'pending'"))
                    .as("nothing was placed on the lost host's GPUs").isEqualTo(2);

            road.heal();
            await().atMost(Duration.ofSeconds(90)).until(() ->
                    Invariants.count(db, "SELECT count(*) FROM workloads WHERE pod_uid LIKE 'part-waiting-%' AND phase = 'running'") == 2);
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                    assertThat(Invariants.violations(db, fleet.hosts.keySet(), acknowledged)).isEmpty());
            assertThat(Invariants.count(db, "SELECT count(*) FROM workloads WHERE reason = 'HostLost'")).isBetween(7L, 8L);
            assertThat(running()).as("only the two that waited run: the fenced ones were removed").isEqualTo(2);
        }
    }

    private static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }

    private int running() {
        return (int) Docker.managed().stream().filter(b -> b.host().equals("faults-p1") && b.running() && !b.gpus().isEmpty()).count();
    }
}
