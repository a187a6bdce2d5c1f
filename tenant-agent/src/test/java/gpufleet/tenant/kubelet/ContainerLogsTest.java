package gpufleet.tenant.kubelet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** kubectl logs through the kubelet API: every parameter reaches the backend, the body streams as it is read. */
@EnableKubernetesMockClient(crud = true)
class ContainerLogsTest {
    KubernetesMockServer server;
    KubernetesClient client;
    @TempDir
    Path tmp;
    KubeletFixture fx;
    KubeletBackend.PodRef pod;
    HttpClient http;

    @BeforeEach
    void start() throws Exception {
        fx = new KubeletFixture(server, client, tmp);
        pod = fx.pod("default", "hello", KubeletFixture.NODE, "main");
        http = HttpClient.newBuilder().sslContext(fx.apiServer()).build();
        Instant t = Instant.parse("2026-11-28T10:00:00Z");
        List<String> lines = new ArrayList<>();
        for (int i = 1; i <= 5; i++) {
            lines.add(t.plusSeconds(i) + " line " + i);
        }
        fx.backend.writeLog(pod, "main", false, lines);
        fx.backend.writeLog(pod, "main", true, List.of(t + " before the restart"));
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    private HttpResponse<String> get(String pathAndQuery) throws Exception {
        return http.send(HttpRequest.newBuilder(fx.uri(pathAndQuery)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void theWholeLogWithoutParameters() throws Exception {
        HttpResponse<String> r = get("/containerLogs/default/hello/main");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).hasValue("text/plain");
        assertThat(r.body()).isEqualTo("line 1\nline 2\nline 3\nline 4\nline 5\n");
        assertThat(fx.backend.lastLogOptions).isEqualTo(new KubeletBackend.LogOptions(false, null, null, null, false, false, null));
    }

    @Test
    void everyParameterReachesTheBackend() throws Exception {
        HttpResponse<String> r = get("/containerLogs/default/hello/main?tailLines=2&timestamps=true&limitBytes=1000"
                + "&sinceTime=2026-11-28T10:00:02Z&sinceSeconds=99999999");
        assertThat(r.body()).isEqualTo("2026-11-28T10:00:04Z line 4\n2026-11-28T10:00:05Z line 5\n");
        assertThat(fx.backend.lastLogOptions).isEqualTo(new KubeletBackend.LogOptions(false, 2L, 99999999L, "2026-11-28T10:00:02Z",
                true, false, 1000L));
        assertThat(get("/containerLogs/default/hello/main?limitBytes=9").body()).isEqualTo("line 1\nli");
        assertThat(get("/containerLogs/default/hello/main?previous=true").body()).isEqualTo("before the restart\n");
        assertThat(fx.backend.lastLogOptions.previous()).isTrue();
        assertThat(get("/containerLogs/default/hello/main?sinceTime=2026-11-28T10:00:04Z").body()).isEqualTo("line 4\nline 5\n");
    }

    @Test
    void followStreamsNewLinesUntilTheContainerStops() throws Exception {
        HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(fx.uri("/containerLogs/default/hello/main?follow=true&tailLines=1")).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            assertThat(in.readLine()).isEqualTo("line 5");
            fx.backend.appendLog(pod, "main", Instant.now() + " line 6", false);
            assertThat(in.readLine()).isEqualTo("line 6");
            fx.backend.appendLog(pod, "main", Instant.now() + " line 7", true);
            assertThat(in.readLine()).isEqualTo("line 7");
            assertThat(in.readLine()).isNull();
        }
        assertThat(fx.backend.lastLogOptions.follow()).isTrue();
    }

    @Test
    void aClientThatDoesNotReadHoldsTheBackendBack() throws Exception {
        String line = Instant.parse("2026-11-28T10:00:00Z") + " " + "x".repeat(1000);
        Path file = tmp.resolve("logs").resolve(pod.uid()).resolve("main.log");
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file))) {
            byte[] bytes = (line + "\n").getBytes(StandardCharsets.UTF_8);
            for (int i = 0; i < 40_000; i++) {
                out.write(bytes);
            }
        }
        long body = 40_000L * 1001; // each line without its timestamp: 1,000 x and a newline
        try (SSLSocket socket = (SSLSocket) fx.apiServer().getSocketFactory().createSocket("127.0.0.1", fx.server.port())) {
            socket.setReceiveBufferSize(64 * 1024);
            socket.getOutputStream().write(("GET /containerLogs/default/hello/main HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            awaitTheWriterHeldBack(body);
            assertThat(fx.backend.logBytesWritten).as("bytes the backend could write while the client read nothing").isLessThan(body / 4);
            assertThat(readChunkedBody(socket.getInputStream(), line.substring(21) + "\n")).as("log bytes the client received").isEqualTo(body);
        }
        assertThat(fx.backend.logBytesWritten).isEqualTo(body);
        assertThat(fx.backend.lastLogFailure).isNull();
    }

    /**
     * Waits until the backend's writer is parked inside a write that does not return (its thread
     * waiting, not running) and the bytes written stay the same on three looks in a row: the
     * server holds it back. A backend that writes the whole log meanwhile fails at once.
     */
    private void awaitTheWriterHeldBack(long body) {
        long[] last = {-1};
        int[] stillLooks = {0};
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() -> {
            long now = fx.backend.logBytesWritten;
            if (now == body || fx.backend.lastLogError != null) {
                throw new AssertionError("the backend wrote " + now + " of " + body + " bytes while the client read nothing"
                        + (fx.backend.lastLogError == null ? ": nothing held it back" : ": " + fx.backend.lastLogError));
            }
            Thread writer = fx.backend.logWriteInProgress;
            boolean parked = writer != null && EnumSet.of(Thread.State.WAITING, Thread.State.TIMED_WAITING).contains(writer.getState());
            stillLooks[0] = parked && now == last[0] ? stillLooks[0] + 1 : 0;
            last[0] = now;
            return stillLooks[0] >= 3;
        });
    }

    /**
     * Reads one chunked response to its last chunk, checking that the body is {@code line} over and
     * over (split anywhere by the chunks); returns the body's length. The connection stays open.
     */
    private static long readChunkedBody(InputStream raw, String line) throws IOException {
        DataInputStream in = new DataInputStream(new BufferedInputStream(raw, 64 * 1024));
        assertThat(crlfLine(in)).isEqualTo("HTTP/1.1 200 OK");
        while (!crlfLine(in).isEmpty()) {
            // headers
        }
        byte[] expected = line.getBytes(StandardCharsets.US_ASCII);
        long length = 0;
        for (int size; (size = Integer.parseInt(crlfLine(in), 16)) > 0; ) {
            byte[] chunk = new byte[size];
            in.readFully(chunk);
            for (byte b : chunk) {
                if (b != expected[(int) (length++ % expected.length)]) {
                    throw new AssertionError("the body differs from the log at byte " + (length - 1));
                }
            }
            assertThat(crlfLine(in)).isEmpty();
        }
        assertThat(crlfLine(in)).as("the end of the last chunk").isEmpty();
        return length;
    }

    private static String crlfLine(DataInputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        for (int c; (c = in.read()) != '\n'; ) {
            if (c < 0) {
                throw new EOFException("the connection closed after " + b);
            }
            b.append((char) c);
        }
        assertThat(b).endsWith("\r");
        return b.substring(0, b.length() - 1);
    }

    @Test
    void aFollowerThatLeavesFailsTheBackendsNextWrite() throws Exception {
        try (SSLSocket socket = (SSLSocket) fx.apiServer().getSocketFactory().createSocket("127.0.0.1", fx.server.port())) {
            socket.getOutputStream().write(("GET /containerLogs/default/hello/main?follow=true HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            assertThat(socket.getInputStream().read(new byte[1024])).isPositive();
        }
        // A line written before the server saw the close may still go out; the next ones must fail.
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> {
            assertThat(fx.backend.lastLogError).as("the follow broke for another reason").isNull();
            fx.backend.appendLog(pod, "main", Instant.now() + " nobody reads this", false);
            return fx.backend.lastLogFailure != null;
        });
        assertThat(fx.backend.lastLogFailure).hasMessage("the client went away");
    }

    @Test
    void aPodOnAnotherNodeIsNotFound() throws Exception {
        fx.pod("default", "elsewhere", "worker-1", "main");
        HttpResponse<String> r = get("/containerLogs/default/elsewhere/main");
        assertThat(r.statusCode()).isEqualTo(404);
        assertThat(r.body()).contains("\"reason\":\"NotFound\"").contains("pod \\\"default/elsewhere\\\" is not bound to node \\\"k8s.gpu\\\"");
        assertThat(get("/containerLogs/default/missing/main").body()).contains("pods \\\"missing\\\" not found");
        assertThat(get("/containerLogs/default/hello/sidecar").statusCode()).isEqualTo(404);
        assertThat(get("/containerLogs/default/hello/main?tailLines=ten").statusCode()).isEqualTo(400);
    }
}
