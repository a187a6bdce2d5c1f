package gpufleet.tenant.kubelet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** kubectl port-forward through the kubelet API, over SPDY and WebSocket, to a real TCP echo server. */
@EnableKubernetesMockClient(crud = true)
class PortForwardTest {
    static final Duration TIMEOUT = Duration.ofSeconds(20);
    KubernetesMockServer server;
    KubernetesClient client;
    @TempDir
    Path tmp;
    KubeletFixture fx;
    EchoServer echo;
    KubeletBackend.PodRef pod;

    @BeforeEach
    void start() throws Exception {
        fx = new KubeletFixture(server, client, tmp);
        pod = fx.pod("default", "hello", KubeletFixture.NODE, "main");
        echo = new EchoServer();
    }

    @AfterEach
    void stop() throws Exception {
        echo.close();
        fx.close();
    }

    @Test
    void echoOverSpdy() throws Exception {
        SpdyPortForwardClient c = new SpdyPortForwardClient(fx.apiServer(), null, TIMEOUT);
        SpdyPortForwardClient.Result r = c.exchange(fx.uri("/portForward/default/hello"), echo.port(), "ping over spdy".getBytes(StandardCharsets.UTF_8));
        assertThat(new String(r.data(), StandardCharsets.UTF_8)).isEqualTo("ping over spdy");
        assertThat(r.error()).isEmpty();
    }

    @Test
    void severalConnectionsShareOneSpdyConnection() throws Exception {
        SpdyPortForwardClient c = new SpdyPortForwardClient(fx.apiServer(), null, TIMEOUT);
        try (SpdyClientConnection conn = c.connect(fx.uri("/portForward/default/hello"))) {
            byte[] big = "0123456789".repeat(100_000).getBytes(StandardCharsets.UTF_8);
            assertThat(c.exchange(conn, echo.port(), big, "1").data()).isEqualTo(big);
            assertThat(new String(c.exchange(conn, echo.port(), "second".getBytes(StandardCharsets.UTF_8), "2").data(),
                    StandardCharsets.UTF_8)).isEqualTo("second");
        }
    }

    @Test
    void aPortNobodyListensOnReportsOnTheErrorStream() throws Exception {
        // A socket bound but not listening holds the port for the whole test: nobody else can listen there meanwhile.
        try (Socket held = new Socket()) {
            held.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            int closed = held.getLocalPort();
            SpdyPortForwardClient.Result r = new SpdyPortForwardClient(fx.apiServer(), null, TIMEOUT)
                    .exchange(fx.uri("/portForward/default/hello"), closed, new byte[0]);
            assertThat(r.error()).startsWith("error forwarding port " + closed + " to pod default/hello, uid " + pod.uid() + ": ");
        }
    }

    @Test
    void echoOverWebSocket() throws Exception {
        WsPortForwardClient.Result r = new WsPortForwardClient(fx.apiServer(), null, TIMEOUT)
                .exchange(fx.uri("/portForward/default/hello?ports=" + echo.port()), "ping over ws".getBytes(StandardCharsets.UTF_8), 12);
        assertThat(r.announcedPort()).isEqualTo(echo.port());
        assertThat(new String(r.data(), StandardCharsets.UTF_8)).isEqualTo("ping over ws");
    }

    @Test
    void aWebSocketWithoutPortsIsRefused() {
        assertThatThrownBy(() -> new WsPortForwardClient(fx.apiServer(), null, TIMEOUT)
                        .exchange(fx.uri("/portForward/default/hello"), new byte[0], 0))
                .isInstanceOfSatisfying(WsClient.Refused.class, e -> assertThat(e.status).isEqualTo(400));
    }
}
