package gpufleet.host.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gpufleet.common.Json;
import gpufleet.common.stream.Frames;
import gpufleet.common.stream.StreamRequest;
import gpufleet.common.stream.Tickets;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.InputStreamReader;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.Base64;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StreamServerTest {
    private static final StreamIdentity IDENTITY = identity();
    private final String key = Tickets.newKey();

    private static StreamIdentity identity() {
        try {
            return StreamIdentity.create("test-gpu");
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private StreamServer server(StreamServer.StreamHandler handler) {
        return new StreamServer(InetAddress.getLoopbackAddress(), 0, key, IDENTITY.serverContext(), handler);
    }

    private StreamServer server(StreamServer.StreamHandler handler, StreamLimits limits) {
        return new StreamServer(InetAddress.getLoopbackAddress(), 0, key, IDENTITY.serverContext(), handler, limits);
    }

    private static StreamRequest logs(String ticket) {
        return new StreamRequest("logs", "w-1", ticket, "default", "p", "main", null, false, true, true, false, false,
                null, null, null, false, false, null, null, null);
    }

    private static StreamRequest exec(String ticket, List<String> command) {
        return new StreamRequest("exec", "w-1", ticket, "default", "p", "main", command, true, true, true, false, false,
                null, null, null, false, false, null, null, null);
    }

    /** A logs request with a fresh ticket for exactly it. */
    private StreamRequest signedLogs() {
        return logs(Tickets.sign(key, logs(null), Instant.now().plus(Tickets.LIFE)));
    }

    /** A TLS client that trusts exactly the server's certificate, as the control-api does. */
    private static SSLSocket tls(Socket plain) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("host", CertificateFactory.getInstance("X.509").generateCertificate(
                new ByteArrayInputStream(Base64.getDecoder().decode(IDENTITY.certificateBase64()))));
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLSv1.3");
        ctx.init(null, tmf.getTrustManagers(), null);
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(plain, null, plain.getPort(), true);
        s.startHandshake();
        return s;
    }

    private String ask(StreamServer server, StreamRequest req) throws Exception {
        try (Socket s = tls(new Socket(InetAddress.getLoopbackAddress(), server.port()))) {
            s.getOutputStream().write(Json.mapper().writeValueAsBytes(req));
            s.getOutputStream().write('\n');
            return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
        }
    }

    @Test
    void aRequestWithoutAGoodTicketIsRefusedAndNeverServed() throws Exception {
        List<StreamRequest> served = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (StreamServer server = server((r, c) -> served.add(r))) {
            assertThat(ask(server, logs(null))).isEqualTo("{\"status\":401,\"message\":\"no stream ticket\"}");
            String forExec = Tickets.sign(key, exec(null, List.of("id")), Instant.now().plusSeconds(15));
            assertThat(ask(server, logs(forExec))).contains("\"status\":401").contains("does not match this request (logs on workload w-1)");
            String otherKey = Tickets.sign(Tickets.newKey(), logs(null), Instant.now().plusSeconds(15));
            assertThat(ask(server, logs(otherKey))).contains("\"status\":401");
            assertThat(served).isEmpty();
        }
    }

    @Test
    void aReplayedTicketIsRefusedAndNeverServedTwice() throws Exception {
        List<StreamRequest> served = new java.util.concurrent.CopyOnWriteArrayList<>();
        StreamServer.StreamHandler ok = (r, c) -> {
            served.add(r);
            c.ok();
            c.end(Map.of());
        };
        try (StreamServer server = server(ok)) {
            StreamRequest once = signedLogs();
            assertThat(ask(server, once)).isEqualTo("{\"status\":200}");
            assertThat(ask(server, once)).isEqualTo("{\"status\":401,\"message\":\"stream ticket already used\"}");
            assertThat(served).hasSize(1);
        }
    }

    @Test
    void aTicketForOneCommandDoesNotRunAnother() throws Exception {
        List<StreamRequest> served = new java.util.concurrent.CopyOnWriteArrayList<>();
        StreamServer.StreamHandler ok = (r, c) -> {
            served.add(r);
            c.ok();
            c.end(Map.of());
        };
        try (StreamServer server = server(ok)) {
            String forId = Tickets.sign(key, exec(null, List.of("id")), Instant.now().plus(Tickets.LIFE));
            String answer = ask(server, exec(forId, List.of("sh", "-c", "cat /etc/shadow")));
            assertThat(answer).contains("\"status\":401").contains("stream ticket does not match this request (exec on workload w-1)");
            assertThat(served).isEmpty();
        }
    }

    @Test
    void aPlainTextClientGetsNoAnswerAndIsNeverServed() throws Exception {
        List<StreamRequest> served = new java.util.concurrent.CopyOnWriteArrayList<>();
        StreamServer.StreamHandler ok = (r, c) -> {
            served.add(r);
            c.ok();
            c.end(Map.of());
        };
        try (StreamServer server = server(ok);
             Socket plain = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
            plain.setSoTimeout(30_000);
            plain.getOutputStream().write((Json.mapper().writeValueAsString(signedLogs()) + "\n").getBytes(StandardCharsets.UTF_8));
            byte[] answer = plain.getInputStream().readNBytes(64);
            assertThat(new String(answer, StandardCharsets.ISO_8859_1)).as("no reply in clear, at most a TLS alert")
                    .doesNotContain("status");
            assertThat(served).isEmpty();
        }
    }

    @Test
    void aGoodTicketReachesTheHandlerWhichAnswersInFrames() throws Exception {
        StreamServer.StreamHandler echo = (r, c) -> {
            c.ok();
            byte[] b = ("hello " + r.pod()).getBytes(StandardCharsets.UTF_8);
            c.send(Frames.STDOUT, b, 0, b.length);
            c.end(Map.of());
        };
        try (StreamServer server = server(echo);
             Socket s = tls(new Socket(InetAddress.getLoopbackAddress(), server.port()))) {
            s.getOutputStream().write(Json.mapper().writeValueAsBytes(signedLogs()));
            s.getOutputStream().write('\n');
            DataInputStream in = new DataInputStream(s.getInputStream());
            StringBuilder line = new StringBuilder();
            for (int c = in.read(); c != '\n'; c = in.read()) {
                line.append((char) c);
            }
            assertThat(line.toString()).isEqualTo("{\"status\":200}");
            assertThat(Frames.read(in).text()).isEqualTo("hello p");
            Frames.Frame end = Frames.read(in);
            assertThat(end.channel()).isEqualTo(Frames.END);
            assertThat(server.address()).isEqualTo("127.0.0.1:" + server.port());
        }
    }

    /** A pod on the host's network, as the server sees it: its own source address. */
    private static final InetAddress POD = address("127.0.0.2");
    private static final StreamLimits SMALL = new StreamLimits(1, 6, 3, Duration.ofSeconds(2), Duration.ofSeconds(30));

    private static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Socket dial(StreamServer server, InetAddress from) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(from, 0));
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.port()), 10_000);
        s.setSoTimeout(30_000);
        return s;
    }

    /** -1 when the server closed or reset the connection without sending a byte. */
    private static int firstByte(Socket s) throws IOException {
        try {
            return s.getInputStream().read();
        } catch (IOException reset) { // a TLS connection reports the reset as an SSLException
            return -1;
        }
    }

    /** The reset may already come with the connect: that is the same answer. */
    private static int firstByteOfANewConnection(StreamServer server, InetAddress from) throws IOException {
        try (Socket s = dial(server, from)) {
            return firstByte(s);
        } catch (SocketException reset) {
            return -1;
        }
    }

    @Test
    void oneAddressGetsItsFewWaitingSlotsAndTheNextIsResetWhileOthersAreStillServed() throws Exception {
        StreamServer.StreamHandler ok = (r, c) -> {
            c.ok();
            c.end(Map.of());
        };
        List<Socket> idle = new ArrayList<>();
        try (StreamServer server = server(ok, SMALL)) {
            for (int i = 0; i < SMALL.pendingPerSource(); i++) {
                idle.add(dial(server, POD));
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> server.counts().pending() == SMALL.pendingPerSource());
            assertThat(firstByteOfANewConnection(server, POD)).as("a connection over the per-address bound is closed at once").isEqualTo(-1);
            assertThat(server.counts().refused()).as("reset at once by the bound, not left to the deadline").isEqualTo(1);
            assertThat(ask(server, signedLogs())).as("another address is still served").isEqualTo("{\"status\":200}");
            assertThat(server.counts().timedOut()).isZero();
        } finally {
            for (Socket s : idle) {
                s.close();
            }
        }
    }

    @Test
    void aConnectionThatTricklesItsRequestIsClosedAtTheDeadlineAndItsSlotFreed() throws Exception {
        try (StreamServer server = server((r, c) -> { }, SMALL);
             Socket slow = tls(dial(server, POD))) {
            // Half a request, then a byte now and then: each read succeeds, the whole never arrives.
            slow.getOutputStream().write("{\"op\":\"logs\",".getBytes(StandardCharsets.UTF_8));
            CountDownLatch closed = new CountDownLatch(1);
            Thread trickle = new Thread(() -> {
                try {
                    while (closed.getCount() > 0) {
                        slow.getOutputStream().write(' ');
                        closed.await(500, TimeUnit.MILLISECONDS);
                    }
                } catch (IOException | InterruptedException e) {
                    // The server closed it: what the test waits for.
                }
            });
            trickle.start();
            assertThat(firstByte(slow)).as("closed by the server with no reply").isEqualTo(-1);
            closed.countDown();
            trickle.join();
            assertThat(server.counts().timedOut()).isEqualTo(1);
            await().atMost(Duration.ofSeconds(10)).until(() -> server.counts().pending() == 0);
        }
    }

    @Test
    void verifiedSessionsOverTheBoundAreAnswered503() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        StreamServer.StreamHandler hold = (r, c) -> {
            c.ok();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        try (StreamServer server = server(hold, SMALL);
             Socket first = tls(dial(server, InetAddress.getLoopbackAddress()))) {
            first.getOutputStream().write((Json.mapper().writeValueAsString(signedLogs()) + "\n").getBytes(StandardCharsets.UTF_8));
            assertThat(Frames.line(first.getInputStream(), 1024)).isEqualTo("{\"status\":200}");
            assertThat(ask(server, signedLogs())).contains("\"status\":503").contains("limit of 1 streams");
            assertThat(server.counts().sessions()).isEqualTo(1);
            release.countDown();
            await().atMost(Duration.ofSeconds(10)).until(() -> server.counts().sessions() == 0);
        }
    }
}
