package gpufleet.control.inventory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gpufleet.control.ControlApi;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.ApiFixture.Host;
import gpufleet.control.support.Http;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Hosts that stop heartbeating go not-ready, then lost; two replicas on one database agree.
 *
 * <p>Time is driven, not waited for: the replicas' timers are set to an hour, so only the passes a
 * test runs happen, and "a grace period passes" is a heartbeat moved into the past. A real beat and
 * the pass that follows it are then a 30 s grace apart, not 1 s that a GC pause or a busy CPU can eat.
 */
class LivenessIT {
    static final Duration GRACE = Duration.ofSeconds(30);
    static final Duration LOST_AFTER = Duration.ofMinutes(10);
    static final Map<String, String> DRIVEN = Map.of(
            "GPUFLEET_HEARTBEAT_GRACE", "30s", "GPUFLEET_LOST_AFTER", "10m", "GPUFLEET_LIVENESS_INTERVAL", "1h");
    static ApiFixture fx;
    static ControlApi replica;
    static Http replicaHttp;

    @BeforeAll
    static void start() {
        fx = ApiFixture.start(DRIVEN);
        replica = fx.startReplica(DRIVEN);
        replicaHttp = new Http(replica.port());
    }

    @AfterAll
    static void stop() {
        replica.close();
        fx.close();
    }

    @Test
    void aSilentHostGoesNotReadyAfterTheGraceThenLostAndComesBackOnHeartbeat() {
        Host h = fx.seedHost("quiet");
        fx.api.liveness().runOnce();
        assertThat(state("quiet")).as("a pass right after a beat").isEqualTo("ready");

        fx.backdateHeartbeat(h, GRACE.plusSeconds(1));
        fx.api.liveness().runOnce();
        assertThat(state("quiet")).as("silent for longer than the grace").isEqualTo("not-ready");

        fx.backdateHeartbeat(h, LOST_AFTER);
        replica.liveness().runOnce();
        assertThat(state("quiet")).as("silent for longer than the lost period").isEqualTo("lost");

        fx.heartbeat(h);
        assertThat(state("quiet")).isEqualTo("ready");
    }

    @Test
    void aHeartbeatingHostStaysReadyWhicheverReplicaItTalksToWhileASilentOneGoesNotReady() {
        Host chatty = fx.seedHost("chatty");
        Host silent = fx.seedHost("silent");
        for (int round = 0; round < 3; round++) {
            // A grace period passes for both; only chatty beats, through either replica in turn.
            fx.backdateHeartbeat(chatty, GRACE.plusSeconds(1));
            fx.backdateHeartbeat(silent, GRACE.plusSeconds(1));
            Http via = round % 2 == 0 ? fx.http : replicaHttp;
            assertThat(via.post("/v1/hosts/" + chatty.id() + "/heartbeat", chatty.token(), null).status()).isEqualTo(204);
            (round % 2 == 0 ? replica : fx.api).liveness().runOnce();
            assertThat(state("chatty")).as("round " + round + ": the host that beat").isEqualTo("ready");
            assertThat(state("silent")).as("round " + round + ": the host that did not").isEqualTo("not-ready");
        }
        assertThat(replicaHttp.get("/v1/hosts/chatty", ApiFixture.OPERATOR).json().at("/host/state").asText()).isEqualTo("ready");
    }

    @Test
    void eachReplicasTimerRunsThePassOnItsOwn() {
        Host h = fx.seedHost("left-alone");
        Map<String, String> ticking = Map.of("GPUFLEET_HEARTBEAT_GRACE", "30s", "GPUFLEET_LOST_AFTER", "10m",
                "GPUFLEET_LIVENESS_INTERVAL", "200ms");
        try (ControlApi timed = fx.startReplica(ticking)) {
            fx.backdateHeartbeat(h, GRACE.plusSeconds(1));
            await("a timed pass marks the silent host").atMost(Duration.ofSeconds(60))
                    .until(() -> state("left-alone").equals("not-ready"));
        }
    }

    @Test
    void onlyOneReplicaRunsTheLivenessRoundAtATime() throws Exception {
        try (Connection c = fx.database.connect();
             PreparedStatement lock = c.prepareStatement("SELECT pg_advisory_lock(?)");
             PreparedStatement unlock = c.prepareStatement("SELECT pg_advisory_unlock(?)")) {
            lock.setLong(1, LivenessJob.LOCK_KEY);
            lock.execute();
            assertThat(fx.api.liveness().runOnce()).as("lock held elsewhere: round skipped").isEqualTo(-1);
            assertThat(replica.liveness().runOnce()).isEqualTo(-1);
            unlock.setLong(1, LivenessJob.LOCK_KEY);
            unlock.execute();
        }
        // A pass of the timed replica closed by another test may still be finishing: wait it out.
        await("the lock is free again").atMost(Duration.ofSeconds(30)).until(() -> replica.liveness().runOnce() >= 0);
    }

    private static String state(String host) {
        return fx.http.get("/v1/hosts/" + host, ApiFixture.OPERATOR).json().at("/host/state").asText();
    }
}
