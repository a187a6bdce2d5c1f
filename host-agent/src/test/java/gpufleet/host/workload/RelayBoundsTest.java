package gpufleet.host.workload;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A published port under a flood from one pod: bounded per address, per port, idle connections closed. */
@Timeout(120)
class RelayBoundsTest {
    static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    /** Another pod on the host's network, as the relay sees it: its own source address. */
    static final InetAddress POD = address("127.0.0.2");
    static final RelayLimits SMALL = new RelayLimits(8, 6, 3, Duration.ofSeconds(2), Duration.ofSeconds(30));

    final PortRelay relay = new PortRelay(LOOPBACK, SMALL);
    final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        relay.close();
        for (AutoCloseable c : open) {
            c.close();
        }
    }

    private static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A target serving each connection on its own thread, as a real server does. */
    private int target(PortRelayTest.Handler handler) throws IOException {
        ServerSocket server = new ServerSocket(0, 50, LOOPBACK);
        open.add(server);
        Thread t = new Thread(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    Thread each = new Thread(() -> {
                        try (s) {
                            handler.handle(s);
                        } catch (IOException e) {
                            // The relay or the test closed it.
                        }
                    });
                    each.setDaemon(true);
                    each.start();
                } catch (IOException e) {
                    // closed by the test
                }
            }
        });
        t.setDaemon(true);
        t.start();
        return server.getLocalPort();
    }

    private int echo() throws IOException {
        return target(s -> s.getInputStream().transferTo(s.getOutputStream()));
    }

    private int published(String workload, int targetPort) {
        String at = relay.publish(workload, "127.0.0.1", List.of(targetPort)).get(Integer.toString(targetPort));
        return Integer.parseInt(at.substring(at.lastIndexOf(':') + 1));
    }

    private Socket dial(InetAddress from, int port) throws IOException {
        Socket s = new Socket();
        open.add(s);
        s.bind(new InetSocketAddress(from, 0));
        s.connect(new InetSocketAddress(LOOPBACK, port), 10_000);
        s.setSoTimeout(30_000);
        return s;
    }

    /** The byte the echo sends back, or -1 when the relay closed or reset the connection. */
    private int roundTrip(InetAddress from, int port) {
        try {
            Socket s = dial(from, port);
            s.getOutputStream().write('x');
            return s.getInputStream().read();
        } catch (SocketException reset) {
            return -1;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void onePodGetsItsShareOfAPortAndTheNextConnectionIsResetWhileAnotherAddressIsStillRelayed() throws Exception {
        int port = published("w-flood", echo());
        for (int i = 0; i < SMALL.perSource(); i++) {
            assertThat(roundTrip(POD, port)).as("connection %d from the pod is relayed", i + 1).isEqualTo('x');
        }
        assertThat(roundTrip(POD, port)).as("one over the per-address bound is reset").isEqualTo(-1);
        assertThat(roundTrip(LOOPBACK, port)).as("another address is still relayed").isEqualTo('x');
    }

    @Test
    void aPortHoldsNoMoreThanItsBoundSoOtherPortsOnTheHostStillRelay() throws Exception {
        int target = echo();
        int flooded = published("w-flooded", target);
        int other = published("w-other", target);
        InetAddress[] pods = {address("127.0.0.3"), address("127.0.0.4"), address("127.0.0.5")};
        int relayed = 0;
        for (int i = 0; i < SMALL.perListener() + 2; i++) {
            if (roundTrip(pods[i % pods.length], flooded) == 'x') {
                relayed++;
            }
        }
        assertThat(relayed).as("connections one port relays at once").isEqualTo(SMALL.perListener());
        assertThat(roundTrip(LOOPBACK, other)).as("another workload's port still relays").isEqualTo('x');
    }

    @Test
    void aConnectionQuietBothWaysIsClosedAfterTheIdleTimeWhileOneStreamingOneWayIsKept() throws Exception {
        int quiet = published("w-quiet", echo());
        // 8 bytes 500 ms apart: 4 s in all, twice the idle time, with the client sending nothing.
        int ticker = published("w-ticker", target(s -> {
            for (int i = 0; i < 8; i++) {
                s.getOutputStream().write('t');
                try {
                    Thread.sleep(500);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }));
        Socket silent = dial(POD, quiet);
        Socket listening = dial(POD, ticker);
        assertThat(silent.getInputStream().read()).as("closed by the relay after the idle time").isEqualTo(-1);
        InputStream in = listening.getInputStream();
        assertThat(new String(in.readAllBytes())).as("a one-way stream is not idle").isEqualTo("tttttttt");
    }
}
