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

/** Hosts that stop heartbeating go not-ready, then lost; two replicas on one database agree. */
class LivenessIT {
    static final Map<String, String> SHORT = Map.of(
            "GPUFLEET_HEARTBEAT_GRACE", "1s", "GPUFLEET_LOST_AFTER", "3s", "GPUFLEET_LIVENESS_INTERVAL", "200ms");
    static ApiFixture fx;
    static ControlApi replica;
    static Http replicaHttp;

    @BeforeAll
    static void start() {
        fx = ApiFixture.start(SHORT);
        replica = fx.startReplica(SHORT);
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
        assertThat(state("quiet")).isEqualTo("ready");
        await().atMost(Duration.ofSeconds(5)).until(() -> state("quiet").equals("not-ready"));
        await().atMost(Duration.ofSeconds(8)).until(() -> state("quiet").equals("lost"));
        fx.heartbeat(h);
        assertThat(state("quiet")).isEqualTo("ready");
    }

    @Test
    void aHeartbeatingHostStaysReadyWhicheverReplicaItTalksTo() throws InterruptedException {
        Host h = fx.seedHost("chatty");
        long end = System.nanoTime() + Duration.ofMillis(2500).toNanos();
        boolean viaReplica = false;
        while (System.nanoTime() < end) {
            Http target = viaReplica ? replicaHttp : fx.http;
            assertThat(target.post("/v1/hosts/" + h.id() + "/heartbeat", h.token(), null).status()).isEqualTo(204);
            viaReplica = !viaReplica;
            assertThat(state("chatty")).isEqualTo("ready");
            Thread.sleep(300);
        }
        assertThat(replicaHttp.get("/v1/hosts/chatty", ApiFixture.OPERATOR).json().at("/host/state").asText()).isEqualTo("ready");
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
        assertThat(replica.liveness().runOnce()).isGreaterThanOrEqualTo(0);
    }

    private static String state(String host) {
        return fx.http.get("/v1/hosts/" + host, ApiFixture.OPERATOR).json().at("/host/state").asText();
    }
}
