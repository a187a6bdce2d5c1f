package gpufleet.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gpufleet.control.support.Http;
import java.sql.Connection;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * PostgreSQL stopped for real (immediate mode) for 30 s under a load of creates and reads: both
 * replicas answer 503 meanwhile and nothing else, come back by themselves when it returns (same
 * processes), nothing acknowledged is lost, and the host keeps its containers running throughout.
 */
class DatabaseOutageIT {
    static final Duration OUTAGE = Duration.ofSeconds(30);
    FaultFleet fleet;
    final Set<String> acknowledged = ConcurrentHashMap.newKeySet();
    final Map<Integer, AtomicInteger> answers = new ConcurrentHashMap<>();
    final AtomicInteger connectionErrors = new AtomicInteger();
    final AtomicInteger withoutRetryAfter = new AtomicInteger();

    @BeforeEach
    void start() throws Exception {
        fleet = new FaultFleet(2);
        fleet.host("faults-db1", 0, 3);
        await().atMost(Duration.ofSeconds(90)).ignoreExceptions().until(() -> fleet.freeGpus("faults-db1") == 8);
    }

    @AfterEach
    void stop() {
        fleet.close();
    }

    /** A create of pod {@code n} (until 30 are acknowledged) and a read, on one replica; every answer's status is counted. */
    void load(int n) {
        Http http = fleet.replicas.get(n % 2).http();
        String uid = "load-" + n;
        try {
            if (acknowledged.size() < 30) {
                Http.Response r = http.post("/v1/tenants/" + FaultFleet.TENANT + "/workloads", fleet.tenantToken, ReplicaKillIT.pod(uid));
                answers.computeIfAbsent(r.status(), k -> new AtomicInteger()).incrementAndGet();
                if (r.status() == 503 && r.retryAfter() == null) {
                    withoutRetryAfter.incrementAndGet();
                }
                if (r.status() == 201 || r.status() == 200) {
                    acknowledged.add(uid);
                }
            }
            Http.Response list = http.get("/v1/tenants/" + FaultFleet.TENANT + "/workloads", fleet.tenantToken);
            answers.computeIfAbsent(list.status(), k -> new AtomicInteger()).incrementAndGet();
            if (list.status() == 503 && list.retryAfter() == null) {
                withoutRetryAfter.incrementAndGet();
            }
        } catch (IllegalStateException e) {
            connectionErrors.incrementAndGet();
        }
    }

    @Test
    void anOutageIsAnsweredWith503AndLeavesNothingLostOrStopped() throws Exception {
        for (int i = 0; i < 4; i++) {
            load(i);
        }
        await().atMost(Duration.ofSeconds(90)).until(() -> running().size() == 4);
        Map<String, String> before = running();

        AtomicBoolean on = new AtomicBoolean(true);
        AtomicInteger n = new AtomicInteger(4);
        Thread loader = new Thread(() -> {
            while (on.get()) {
                load(n.getAndIncrement());
                try {
                    Thread.sleep(250);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "load");
        Map<Integer, Integer> beforeOutage = snapshot();
        fleet.pg.stopImmediately();
        long down = System.nanoTime();
        loader.start();
        await().atMost(OUTAGE.plusSeconds(10)).until(() -> answers.containsKey(503));
        Thread.sleep(Math.max(0, OUTAGE.toMillis() - (System.nanoTime() - down) / 1_000_000));
        assertThat(running()).as("the host's containers run on through the outage, never restarted").isEqualTo(before);
        Map<Integer, Integer> duringOutage = snapshot();
        fleet.pg.start();
        fleet.replicas.forEach(FaultFleet::awaitReady);
        int acknowledgedBefore = acknowledged.size();
        await().atMost(Duration.ofSeconds(60)).until(() -> acknowledged.size() >= acknowledgedBefore + 4);
        on.set(false);
        loader.join(30_000);
        System.out.printf("outage of %d s: answers before it %s, until its end %s, in all %s; connection errors %d; acknowledged %d%n",
                OUTAGE.toSeconds(), beforeOutage, duringOutage, snapshot(), connectionErrors.get(), acknowledged.size());
        assertThat(snapshot().keySet()).as("every answer is a success or 503, never a wrong one").isSubsetOf(200, 201, 503);
        assertThat(connectionErrors.get()).as("the replicas stayed up").isZero();
        assertThat(withoutRetryAfter.get()).as("503s that do not say when to come back").isZero();
        assertThat(fleet.replicas).allMatch(r -> r.proc().alive());

        // Only 8 GPUs: creates beyond them wait (pending) and that is right; the guarantees must hold.
        try (Connection db = fleet.db()) {
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                    assertThat(Invariants.violations(db, fleet.hosts.keySet(), acknowledged)).isEmpty());
        }
        assertThat(running()).as("the containers that ran before still run, the same ones").containsAllEntriesOf(before);
        // The outage is told once and its end once, not every second of it (it lasted 30 s, each loop runs every 1 s).
        for (FaultFleet.Replica r : fleet.replicas) {
            assertThat(r.proc().lines("LISTEN connection lost")).as("LISTEN losses told by a replica").isEqualTo(1L);
            assertThat(r.proc().lines("LISTEN connection back after")).as("LISTEN recoveries told").isEqualTo(1L);
            assertThat(r.proc().lines("failed: database error")).as("failed requests told, one line per half minute").isBetween(1L, 3L);
        }
        for (Proc h : fleet.hosts.values()) {
            assertThat(h.lines("heartbeat refused")).as("refused heartbeats told by a host").isBetween(1L, 3L);
        }
    }

    private Map<Integer, Integer> snapshot() {
        Map<Integer, Integer> out = new TreeMap<>();
        answers.forEach((k, v) -> out.put(k, v.get()));
        return out;
    }

    /** The running workload containers of the fleet's host: container id → start time. */
    private Map<String, String> running() {
        Map<String, String> out = new TreeMap<>();
        for (Docker.Box b : Docker.managed()) {
            if (fleet.hosts.containsKey(b.host()) && b.running() && !b.gpus().isEmpty()) {
                out.put(b.id(), b.workload());
            }
        }
        return out;
    }
}
