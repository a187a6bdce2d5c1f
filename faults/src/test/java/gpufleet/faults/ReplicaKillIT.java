package gpufleet.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gpufleet.control.support.Http;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * kill -9 of a control-api replica in the middle of a burst of placements: a client that loses
 * its replica retries on the other (creation is idempotent by pod UID), the dead replica comes
 * back, and afterwards every acknowledged workload exists once, no GPU is held twice, no container
 * runs on a GPU the database does not give it, and no workload is pending while a GPU is free.
 */
class ReplicaKillIT {
    static final int PODS = 24;
    FaultFleet fleet;
    final Set<String> acknowledged = ConcurrentHashMap.newKeySet();
    final AtomicInteger failedOver = new AtomicInteger();

    @BeforeEach
    void start() throws Exception {
        fleet = new FaultFleet(2);
        fleet.host("faults-h1", 0, 1);
        fleet.host("faults-h2", 1, 2);
        await().atMost(Duration.ofSeconds(90)).ignoreExceptions()
                .until(() -> fleet.freeGpus("faults-h1") == 8 && fleet.freeGpus("faults-h2") == 8);
    }

    @AfterEach
    void stop() {
        fleet.close();
    }

    /** A one-GPU pod whose delete takes 2 s (its grace): a scenario need not wait out the default 30 s. */
    static Map<String, Object> pod(String uid) {
        return pod(uid, 2);
    }

    /** {@code grace}: seconds a deleted pod's container gets after SIGTERM (busybox's sleep ignores it). */
    static Map<String, Object> pod(String uid, int grace) {
        return Map.of("podUid", uid, "namespace", "default", "name", uid, "offering", FaultFleet.OFFERING, "restartPolicy", "Always",
                "terminationGracePeriodSeconds", grace, "containers", List.of(Map.of("name", "main", "image", "gpufleet/busybox:test", "command", List.of("sleep", "3600"),
                        "resources", Map.of("gpus", 1, "cpu", "50m", "memory", "32Mi"))));
    }

    /** Creates the pod on replica {@code first}, then on the other while it fails; records the acknowledgement. */
    void create(String uid, int first) {
        for (int attempt = 0; attempt < 20; attempt++) {
            Http http = fleet.replicas.get((first + attempt) % 2).http();
            try {
                Http.Response r = http.post("/v1/tenants/" + FaultFleet.TENANT + "/workloads", fleet.tenantToken, pod(uid));
                if (r.status() == 201 || r.status() == 200) {
                    acknowledged.add(uid);
                    return;
                }
                assertThat(r.status()).as("a replica answers a create with success or 503, never anything else: " + r).isEqualTo(503);
            } catch (IllegalStateException connectionLost) {
                // The replica died under this request: whether it was stored is for the retry to find out.
                failedOver.incrementAndGet();
            }
        }
        throw new AssertionError("pod " + uid + " was never acknowledged");
    }

    @Test
    void killingAReplicaMidBurstLosesNothingAndDoublesNothing() throws Exception {
        AtomicInteger done = new AtomicInteger();
        ExecutorService clients = Executors.newFixedThreadPool(4);
        List<Future<?>> calls = new ArrayList<>();
        for (int i = 0; i < PODS; i++) {
            String uid = "burst-" + i;
            int first = i % 2;
            calls.add(clients.submit(() -> {
                create(uid, first);
                done.incrementAndGet();
            }));
        }
        await().atMost(Duration.ofSeconds(60)).until(() -> done.get() >= PODS / 3);
        FaultFleet.Replica a = fleet.replicas.get(0);
        a.proc().kill9();
        for (Future<?> f : calls) {
            f.get(120, TimeUnit.SECONDS);
        }
        clients.shutdown();
        assertThat(acknowledged).hasSize(PODS);
        assertThat(failedOver.get()).as("requests that lost their replica and went to the other").isPositive();
        System.out.printf("burst of %d pods: replica a killed after %d acknowledged, %d requests failed over%n",
                PODS, PODS / 3, failedOver.get());
        a.proc().start();
        FaultFleet.awaitReady(a);

        // 16 GPUs for 24 pods: 16 run, 8 wait; deleting 8 running ones lets the 8 waiting run.
        Http b = fleet.replicas.get(1).http();
        try (Connection db = fleet.db()) {
            await().atMost(Duration.ofSeconds(120)).until(() ->
                    Invariants.count(db, "SELECT count(*) FROM workloads WHERE phase = 'running'") == 16);
            List<String> running = new ArrayList<>();
            try (var rs = db.createStatement().executeQuery("SELECT pod_uid FROM workloads WHERE phase = 'running' LIMIT 8")) {
                while (rs.next()) {
                    running.add(rs.getString(1));
                }
            }
            for (String uid : running) {
                assertThat(b.delete("/v1/tenants/" + FaultFleet.TENANT + "/workloads/" + uid, fleet.tenantToken).status()).isIn(200, 202);
            }
            await().atMost(Duration.ofSeconds(120)).until(() ->
                    Invariants.count(db, "SELECT count(*) FROM workloads WHERE phase = 'running'") == 16
                            && Invariants.count(db, "SELECT count(*) FROM workloads WHERE deleted_at IS NOT NULL") == 8);
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                    assertThat(Invariants.violations(db, fleet.hosts.keySet(), acknowledged)).isEmpty());
            assertThat(Invariants.count(db, "SELECT count(*) FROM workloads")).as("each pod stored once").isEqualTo(PODS);
            theCheckerSeesBrokenGuarantees(db);
        }
    }

    /** The checker itself, attacked: containers and a lost pod that break each guarantee are each reported. */
    private void theCheckerSeesBrokenGuarantees(Connection db) throws Exception {
        String[] live = new String[2];
        try (var rs = db.createStatement().executeQuery("""
                SELECT w.id::text, a.gpu_uuid FROM workloads w JOIN gpu_allocations a ON a.workload_id = w.id AND a.released_at IS NULL
                WHERE w.phase = 'running' LIMIT 1""")) {
            rs.next();
            live[0] = rs.getString(1);
            live[1] = rs.getString(2);
        }
        String elsewhere = "GPU-not-given-to-it";
        for (String[] rogue : List.of(new String[] {"00000000-0000-4000-8000-000000000000", elsewhere},
                new String[] {live[0], elsewhere}, new String[] {live[0], live[1]})) {
            Commands.run("docker", "run", "-d", "--network", "none", "--label", "org.gpufleet.managed=true", "--label", "org.gpufleet.host=faults-rogue",
                    "--label", "org.gpufleet.workload=" + rogue[0], "--label", "org.gpufleet.container=main",
                    "-e", "NVIDIA_VISIBLE_DEVICES=" + rogue[1], "gpufleet/busybox:test", "sleep", "300");
        }
        try {
            Set<String> lost = new java.util.HashSet<>(acknowledged);
            lost.add("never-stored");
            List<String> v = Invariants.violations(db, Set.of("faults-h1", "faults-h2", "faults-rogue"), lost);
            assertThat(v).anyMatch(m -> m.endsWith("has no live workload (orphan)"))
                    .anyMatch(m -> m.contains("runs on " + elsewhere + ", which the database does not give its workload"))
                    .anyMatch(m -> m.contains("GPU " + live[1] + " is used by two running containers"))
                    .contains("workload never-stored was acknowledged and is lost");
        } finally {
            Docker.removeContainersOf("faults-rogue");
        }
    }
}
