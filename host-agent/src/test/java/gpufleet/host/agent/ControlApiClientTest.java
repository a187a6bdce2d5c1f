package gpufleet.host.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import gpufleet.common.api.RegisteredHost;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class ControlApiClientTest {
    /**
     * A control-api that takes the connection and never answers (a replica killed under the
     * request, a half-open connection): the heartbeat fails at its own timeout, far inside the
     * agent's cut-off, so the next beat tries a new connection. It waited the long poll's 75 s.
     */
    @Test
    void aHeartbeatNobodyAnswersFailsAtItsOwnTimeoutNotTheLongPolls() throws Exception {
        List<Socket> held = new ArrayList<>();
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread accept = new Thread(() -> {
                try {
                    while (true) {
                        held.add(silent.accept());
                    }
                } catch (IOException closed) {
                    // the test is over
                }
            });
            accept.setDaemon(true);
            accept.start();
            ControlApiClient api = new ControlApiClient(URI.create("http://127.0.0.1:" + silent.getLocalPort()));
            long t0 = System.nanoTime();
            assertThatThrownBy(() -> api.heartbeat(new RegisteredHost(UUID.randomUUID(), "h", "t")))
                    .isInstanceOf(java.net.http.HttpTimeoutException.class);
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            assertThat(took).isGreaterThanOrEqualTo(ControlApiClient.HEARTBEAT_TIMEOUT).isLessThan(Duration.ofSeconds(30));
        } finally {
            for (Socket s : held) {
                s.close();
            }
        }
    }
}
