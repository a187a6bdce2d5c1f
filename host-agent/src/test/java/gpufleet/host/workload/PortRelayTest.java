package gpufleet.host.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The relay alone, between local sockets: what a pod's published port does to the bytes of a connection. */
@Timeout(30)
class PortRelayTest {
    static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    final PortRelay relay = new PortRelay(LOOPBACK);
    final List<ServerSocket> targets = new java.util.ArrayList<>();

    @AfterEach
    void close() throws IOException {
        relay.close();
        for (ServerSocket s : targets) {
            s.close();
        }
    }

    /** A target that echoes what it reads as it reads it; when the client has sent everything, it adds "END" and closes. */
    private ServerSocket echoTarget() throws IOException {
        return target(s -> {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            byte[] buf = new byte[8192];
            for (int n; (n = in.read(buf)) >= 0; ) {
                out.write(buf, 0, n);
            }
            out.write("END".getBytes(StandardCharsets.US_ASCII));
        });
    }

    /** A target that answers each connection with its own name and closes. */
    private ServerSocket namedTarget(String name) throws IOException {
        return target(s -> s.getOutputStream().write(name.getBytes(StandardCharsets.US_ASCII)));
    }

    interface Handler {
        void handle(Socket s) throws IOException;
    }

    private ServerSocket target(Handler handler) throws IOException {
        ServerSocket server = new ServerSocket(0, 50, LOOPBACK);
        targets.add(server);
        Thread t = new Thread(() -> {
            while (!server.isClosed()) {
                try (Socket s = server.accept()) {
                    handler.handle(s);
                } catch (IOException e) {
                    // closed by the test
                }
            }
        }, "test-target-" + server.getLocalPort());
        t.setDaemon(true);
        t.start();
        return server;
    }

    private static int port(String published) {
        assertThat(published).startsWith("127.0.0.1:");
        return Integer.parseInt(published.substring(published.lastIndexOf(':') + 1));
    }

    private static String readAll(Socket s) throws IOException {
        s.setSoTimeout(10_000);
        return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
    }

    @Test
    void bytesFlowBothWaysAtOnceAndAHalfCloseIsPassedOnWhileTheAnswerStillComesBack() throws Exception {
        ServerSocket target = echoTarget();
        Map<String, String> ports = relay.publish("w-echo", "127.0.0.1", List.of(target.getLocalPort()));
        int port = port(ports.get(Integer.toString(target.getLocalPort())));
        byte[] data = new byte[4 << 20];
        new Random(7).nextBytes(data);
        try (Socket client = new Socket(LOOPBACK, port)) {
            client.setSoTimeout(10_000);
            Thread writer = new Thread(() -> {
                try {
                    client.getOutputStream().write(data);
                    client.shutdownOutput(); // half-close: the target sees the end and still answers
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            writer.start();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            client.getInputStream().transferTo(got);
            writer.join();
            byte[] answer = got.toByteArray();
            assertThat(answer).hasSize(data.length + 3);
            assertThat(java.util.Arrays.copyOf(answer, data.length)).isEqualTo(data);
            assertThat(new String(answer, data.length, 3, StandardCharsets.US_ASCII)).isEqualTo("END");
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> relay.port("w-echo", target.getLocalPort()) == port);
    }

    @Test
    void theTargetClosingEndsTheClientsConnection() throws Exception {
        ServerSocket target = namedTarget("bye");
        int port = port(relay.publish("w-bye", "127.0.0.1", List.of(target.getLocalPort())).get(Integer.toString(target.getLocalPort())));
        try (Socket client = new Socket(LOOPBACK, port)) {
            assertThat(readAll(client)).isEqualTo("bye");
        }
    }

    @Test
    void aPortKeepsItsListenerAcrossPassesAndFollowsTheTargetToANewAddress() throws Exception {
        // Two "sandboxes" of the same pod: the same container port on two loopback addresses.
        ServerSocket first = target(s -> s.getOutputStream().write("first".getBytes(StandardCharsets.US_ASCII)));
        int containerPort = first.getLocalPort();
        ServerSocket second = new ServerSocket(containerPort, 50, InetAddress.getByName("127.0.0.2"));
        targets.add(second);
        Thread t = new Thread(() -> {
            while (!second.isClosed()) {
                try (Socket s = second.accept()) {
                    s.getOutputStream().write("second".getBytes(StandardCharsets.US_ASCII));
                } catch (IOException e) {
                    // closed by the test
                }
            }
        });
        t.setDaemon(true);
        t.start();
        String key = Integer.toString(containerPort);
        String published = relay.publish("w-move", "127.0.0.1", List.of(containerPort)).get(key);
        try (Socket c = new Socket(LOOPBACK, port(published))) {
            assertThat(readAll(c)).isEqualTo("first");
        }
        assertThat(relay.publish("w-move", "127.0.0.1", List.of(containerPort))).containsEntry(key, published);
        assertThat(relay.publish("w-move", "127.0.0.2", List.of(containerPort))).as("sandbox recreated: same port")
                .containsEntry(key, published);
        try (Socket c = new Socket(LOOPBACK, port(published))) {
            assertThat(readAll(c)).isEqualTo("second");
        }
    }

    @Test
    void aPortLeavingTheListIsClosedWithItsLiveConnections() throws Exception {
        ServerSocket echo = echoTarget();
        ServerSocket other = namedTarget("other");
        Map<String, String> ports = relay.publish("w-drop", "127.0.0.1", List.of(echo.getLocalPort(), other.getLocalPort()));
        assertThat(ports).hasSize(2);
        int echoPort = port(ports.get(Integer.toString(echo.getLocalPort())));
        try (Socket live = new Socket(LOOPBACK, echoPort)) {
            live.setSoTimeout(10_000);
            live.getOutputStream().write('x');
            assertThat(live.getInputStream().read()).isEqualTo('x');
            Map<String, String> after = relay.publish("w-drop", "127.0.0.1", List.of(other.getLocalPort()));
            assertThat(after).containsOnlyKeys(Integer.toString(other.getLocalPort()))
                    .containsEntry(Integer.toString(other.getLocalPort()), ports.get(Integer.toString(other.getLocalPort())));
            assertThat(endOfStream(live)).as("the live connection is closed").isTrue();
        }
        assertThatThrownBy(() -> new Socket(LOOPBACK, echoPort).close()).isInstanceOf(ConnectException.class);
    }

    @Test
    void unpublishRetainAndCloseCloseTheListeners() throws Exception {
        ServerSocket target = namedTarget("hi");
        List<Integer> wanted = List.of(target.getLocalPort());
        int a = port(relay.publish("w-a", "127.0.0.1", wanted).values().iterator().next());
        int b = port(relay.publish("w-b", "127.0.0.1", wanted).values().iterator().next());
        int c = port(relay.publish("w-c", "127.0.0.1", wanted).values().iterator().next());
        assertThat(Set.of(a, b, c)).hasSize(3);
        relay.unpublish("w-a");
        relay.retain(Set.of("w-c"));
        assertThatThrownBy(() -> new Socket(LOOPBACK, a).close()).isInstanceOf(ConnectException.class);
        assertThatThrownBy(() -> new Socket(LOOPBACK, b).close()).isInstanceOf(ConnectException.class);
        try (Socket s = new Socket(LOOPBACK, c)) {
            assertThat(readAll(s)).isEqualTo("hi");
        }
        relay.close();
        assertThatThrownBy(() -> new Socket(LOOPBACK, c).close()).isInstanceOf(ConnectException.class);
        assertThat(relay.publish("w-c", "127.0.0.1", wanted)).as("nothing is published after close").isEmpty();
    }

    @Test
    void withoutASandboxThePortIsKeptButNotReportedAndConnectionsAreClosed() throws Exception {
        ServerSocket target = namedTarget("back");
        String key = Integer.toString(target.getLocalPort());
        String published = relay.publish("w-gap", "127.0.0.1", List.of(target.getLocalPort())).get(key);
        assertThat(relay.publish("w-gap", null, List.of(target.getLocalPort()))).isEmpty();
        try (Socket s = new Socket(LOOPBACK, port(published))) {
            assertThat(readAll(s)).isEmpty();
        }
        assertThat(relay.publish("w-gap", "127.0.0.1", List.of(target.getLocalPort()))).containsEntry(key, published);
        try (Socket s = new Socket(LOOPBACK, port(published))) {
            assertThat(readAll(s)).isEqualTo("back");
        }
    }

    private static boolean endOfStream(Socket s) {
        try {
            return s.getInputStream().read() < 0;
        } catch (IOException e) {
            return true; // reset: closed as well
        }
    }
}
