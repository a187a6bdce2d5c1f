package gpufleet.control.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.control.ControlApi;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Http;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Host credentials checked in memory (HostCredentials): every replica's copy follows revocations
 * made anywhere, and a copy that may have missed one is not trusted.
 */
class HostCredentialsIT {
    private static ApiFixture fx;

    @BeforeAll
    static void start() {
        fx = ApiFixture.start();
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    @Test
    void aCredentialRevokedOnOneReplicaIsRefusedByTheOther() {
        try (ControlApi other = fx.startReplica(Map.of())) {
            ApiFixture.Host h = fx.register("cred-revoked");
            awaitHeld(fx.api, h);
            awaitHeld(other, h);
            fx.heartbeat(h);

            Http.Response revoked = new Http(other.port()).delete("/v1/tokens/" + tokenId(h), ApiFixture.OPERATOR);
            assertThat(revoked.status()).as(revoked.toString()).isEqualTo(200);

            await("the first replica refuses the credential the second revoked").atMost(Duration.ofSeconds(10))
                    .until(() -> beat(h) == 401);
            assertThat(fx.http.post(path(h), h.token(), null).json().get("message").asText()).contains("has been revoked");
        }
    }

    @Test
    void aRevocationMadeWhileTheCopyWasNotListeningIsHonoured() throws Exception {
        ApiFixture.Host h = fx.register("cred-missed");
        awaitHeld(fx.api, h);
        try (Connection c = fx.database.connect(); Statement s = c.createStatement()) {
            // Cut the copy's connection, then revoke behind its back: the notification is lost.
            s.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    + " WHERE application_name = 'gpufleet host credentials' AND datname = current_database()");
            s.execute("UPDATE tokens SET revoked_at = now() WHERE host_id = '" + h.id() + "'");
        }
        await("the revoked credential is refused").atMost(Duration.ofSeconds(15)).until(() -> beat(h) == 401);
        await("the copy is current again").atMost(Duration.ofSeconds(15)).until(fx.api.hostCredentials()::current);
        assertThat(beat(h)).isEqualTo(401);

        ApiFixture.Host later = fx.register("cred-after");
        awaitHeld(fx.api, later);
        fx.heartbeat(later);
    }

    @Test
    void anExpiredCredentialIsRefusedWithTheReason() throws Exception {
        ApiFixture.Host h = fx.register("cred-expired");
        awaitHeld(fx.api, h);
        fx.heartbeat(h);
        try (Connection c = fx.database.connect();
             PreparedStatement ps = c.prepareStatement("UPDATE tokens SET expires_at = now() - interval '1 second' WHERE host_id = ?::uuid")) {
            ps.setString(1, h.id());
            assertThat(ps.executeUpdate()).isEqualTo(1);
        }
        await("the expired credential is refused").atMost(Duration.ofSeconds(10)).until(() -> beat(h) == 401);
        assertThat(fx.http.post(path(h), h.token(), null).json().get("message").asText()).contains("expired at");
    }

    /** Waits until the replica's copy is current and holds the host's credential. */
    private static void awaitHeld(ControlApi api, ApiFixture.Host h) {
        HostCredentials copy = api.hostCredentials();
        await("the copy holds " + h.name()).atMost(Duration.ofSeconds(15))
                .until(() -> copy.current() && copy.lookup(TokenSecrets.hash(h.token())) != null);
    }

    private static int beat(ApiFixture.Host h) {
        return fx.http.post(path(h), h.token(), null).status();
    }

    private static String path(ApiFixture.Host h) {
        return "/v1/hosts/" + h.id() + "/heartbeat";
    }

    private static String tokenId(ApiFixture.Host h) {
        for (JsonNode t : fx.http.get("/v1/tokens?role=host", ApiFixture.OPERATOR).json().get("items")) {
            if (h.id().equals(t.path("hostId").asText())) {
                return t.get("id").asText();
            }
        }
        throw new AssertionError("no credential listed for host " + h.name());
    }
}
