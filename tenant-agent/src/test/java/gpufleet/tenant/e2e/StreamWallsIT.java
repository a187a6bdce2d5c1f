package gpufleet.tenant.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.control.ControlApi;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Http;
import gpufleet.control.support.Pods;
import gpufleet.host.stream.StreamIdentity;
import gpufleet.tenant.kubelet.KubeletBackend;
import gpufleet.tenant.kubelet.KubeletBackend.PodRef;
import gpufleet.tenant.kubelet.KubeletBackend.StreamOptions;
import gpufleet.tenant.kubelet.KubeletException;
import gpufleet.tenant.kubelet.relay.ControlApiBackend;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The stream walls through the whole way (a real control-api, a real host-agent, real
 * containers): a session ends once its token is revoked or its tenant disabled, on whichever
 * replica that happens; a stand-in at the host's stream address without the host's pinned
 * certificate gets nothing.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StreamWallsIT {
    static final Duration TIMEOUT = Duration.ofSeconds(30);
    static final String CLOSING = "closing";
    StreamFleet fleet;
    ApiFixture fx;
    String closingToken;

    @BeforeAll
    void start() throws Exception {
        fleet = StreamFleet.start();
        fx = fleet.fx;
        fleet.create("shell", "shell", StreamFleet.container("sleep", "3600"));
        closingToken = fx.tenant(CLOSING, List.of(StreamFleet.OFFERING));
        Http.Response r = fx.http.post("/v1/tenants/" + CLOSING + "/workloads", closingToken,
                Pods.pod("closing-shell", "shell", StreamFleet.OFFERING, List.of(StreamFleet.container("sleep", "3600"))));
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
        fleet.awaitRunning(List.of("shell"));
        await().atMost(Duration.ofSeconds(90)).until(() -> fx.http.get("/v1/tenants/" + CLOSING + "/workloads/closing-shell",
                closingToken).json().path("phase").asText().equals("running"));
    }

    @AfterAll
    void stop() throws Exception {
        fleet.close();
    }

    /** A `cat` in the pod that echoes one line, proving input and output flow before the wall is tested. */
    private static Collected catThatEchoed(KubeletBackend backend, PodRef pod) throws Exception {
        Collected cat = Collected.exec(backend, pod, List.of("cat"), new StreamOptions(true, true, true, false),
                s -> s.stdin("before\n".getBytes(), 0, 7));
        await().atMost(TIMEOUT).until(() -> cat.stdout().contains("before"));
        return cat;
    }

    /** How the session ended: the failure its client was told. */
    private static String endOf(Collected session) {
        try {
            session.await();
            return "ended without a failure";
        } catch (java.util.concurrent.TimeoutException e) {
            return "still open";
        } catch (Exception e) {
            return String.valueOf(e.getCause() != null ? e.getCause().getMessage() : e.getMessage());
        }
    }

    @Test
    void anExecSessionEndsOnceItsTokenIsRevoked() throws Exception {
        JsonNode issued = fx.http.post("/v1/tenants/" + StreamFleet.TENANT + "/tokens", ApiFixture.OPERATOR,
                Map.of("description", "kubectl exec")).json();
        String tokenId = issued.get("id").asText();
        KubeletBackend backend = new ControlApiBackend(fleet.controlApi(), issued.get("token").asText(), StreamFleet.TENANT);
        Collected cat = catThatEchoed(backend, new PodRef("default", "shell", "shell"));

        assertThat(fx.http.delete("/v1/tokens/" + tokenId, ApiFixture.OPERATOR).status()).isEqualTo(200);
        assertThat(endOf(cat)).isEqualTo("stream failed: stream ended: token " + tokenId + " was revoked");
        assertThatThrownBy(() -> backend.exec(new PodRef("default", "shell", "shell"), "main", List.of("id"),
                new StreamOptions(false, true, true, false), new Collected()))
                .isInstanceOfSatisfying(KubeletException.class, e -> assertThat(e.status()).isEqualTo(401));
    }

    @Test
    void anExecSessionEndsWhenItsTenantIsDisabledOnAnotherReplica() throws Exception {
        KubeletBackend backend = new ControlApiBackend(fleet.controlApi(), closingToken, CLOSING);
        Collected cat = catThatEchoed(backend, new PodRef("default", "shell", "closing-shell"));
        try (ControlApi other = fx.startReplica(Map.of())) {
            Http.Response r = new Http(other.port()).post("/v1/tenants/" + CLOSING + "/disable", ApiFixture.OPERATOR, null);
            assertThat(r.status()).as(r.toString()).isEqualTo(200);
            assertThat(endOf(cat)).isEqualTo("stream failed: stream ended: tenant " + CLOSING + " was disabled");
        }
    }

    @Test
    void aStandInAtTheHostsStreamAddressWithAnotherCertificateGetsNothing() throws Exception {
        StreamIdentity impostor = StreamIdentity.loadOrCreate(Files.createTempDirectory("impostor"), "impostor");
        KubeletBackend backend = new ControlApiBackend(fleet.controlApi(), fleet.token, StreamFleet.TENANT);
        CompletableFuture<String> heard = new CompletableFuture<>();
        try (SSLServerSocket standIn = (SSLServerSocket) impostor.serverContext().getServerSocketFactory()
                .createServerSocket(0, 8, InetAddress.getLoopbackAddress())) {
            Thread accept = new Thread(() -> {
                try (SSLSocket s = (SSLSocket) standIn.accept(); InputStream in = s.getInputStream()) {
                    int first = in.read(); // the handshake runs here; a request would follow it
                    heard.complete(first < 0 ? "nothing" : "a request");
                } catch (Exception e) {
                    heard.complete("a failed handshake: " + e.getMessage());
                }
            });
            accept.setDaemon(true);
            accept.start();
            String real = streamAddress();
            setStreamAddress("127.0.0.1:" + standIn.getLocalPort());
            try {
                assertThatThrownBy(() -> backend.exec(new PodRef("default", "shell", "shell"), "main", List.of("id"),
                        new StreamOptions(false, true, true, false), new Collected()))
                        .isInstanceOfSatisfying(KubeletException.class, e -> assertThat(e.status()).isEqualTo(503))
                        // The tenant reads that the pod's host is unreachable, not which host (that is in the log).
                        .hasMessageContaining("cannot be reached for streams").hasMessageNotContaining("streams-gpu");
                assertThat(heard.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).startsWith("a failed handshake");
            } finally {
                setStreamAddress(real);
            }
        }
        Collected id = Collected.exec(backend, new PodRef("default", "shell", "shell"), List.of("echo", "back"),
                new StreamOptions(false, true, true, false), null);
        assertThat(id.await()).as("the real host, at its own address, still serves").isZero();
        assertThat(id.stdout()).isEqualTo("back\n");
    }

    private String streamAddress() throws Exception {
        try (Connection c = fx.database.connect();
             PreparedStatement ps = c.prepareStatement("SELECT stream_url FROM hosts WHERE name = 'streams-gpu'")) {
            var rs = ps.executeQuery();
            rs.next();
            return rs.getString(1);
        }
    }

    /** Stands for someone taking over the host's address on the provider's network. */
    private void setStreamAddress(String address) throws Exception {
        try (Connection c = fx.database.connect();
             PreparedStatement ps = c.prepareStatement("UPDATE hosts SET stream_url = ? WHERE name = 'streams-gpu'")) {
            ps.setString(1, address);
            assertThat(ps.executeUpdate()).isEqualTo(1);
        }
    }
}
