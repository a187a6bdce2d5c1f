package gpufleet.tenant.kubelet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.io.BufferedReader;
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
        try (OutputStream out = Files.newOutputStream(file)) {
            byte[] bytes = (line + "\n").getBytes(StandardCharsets.UTF_8);
            for (int i = 0; i < 40_000; i++) {
                out.write(bytes);
            }
        }
        long body = Files.size(file) - 40_000L * 21; // without the timestamps
        try (SSLSocket socket = (SSLSocket) fx.apiServer().getSocketFactory().createSocket("127.0.0.1", fx.server.port())) {
            socket.setReceiveBufferSize(64 * 1024);
            socket.getOutputStream().write(("GET /containerLogs/default/hello/main HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            Thread.sleep(1500);
            long sent = fx.backend.logBytesWritten;
            assertThat(sent).as("bytes the backend could write while the client read nothing").isLessThan(body / 4);
            // Read to the chunked body's end ("0\r\n\r\n"); the connection stays open for the next request.
            byte[] buf = new byte[64 * 1024];
            String tail = "";
            InputStream in = socket.getInputStream();
            for (int n; !tail.endsWith("\r\n0\r\n\r\n") && (n = in.read(buf)) > 0; ) {
                tail = (tail + new String(buf, 0, n, StandardCharsets.ISO_8859_1));
                tail = tail.substring(Math.max(0, tail.length() - 16));
            }
        }
        assertThat(fx.backend.logBytesWritten).isEqualTo(body);
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
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200)).until(() -> {
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
