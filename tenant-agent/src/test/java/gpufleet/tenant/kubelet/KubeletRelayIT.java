package gpufleet.tenant.kubelet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.common.Json;
import gpufleet.tenant.e2e.StreamFleet;
import gpufleet.tenant.kubelet.relay.ControlApiBackend;
import io.fabric8.kubernetes.api.model.PodStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The whole way kubectl's requests travel: the API server's client (SPDY/3.1, WebSocket, HTTPS
 * with its client certificate) → the virtual node's kubelet API → the relay to a real control-api →
 * a real host-agent → real Docker containers, and back.
 */
@EnableKubernetesMockClient(crud = true)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KubeletRelayIT {
    static final Duration TIMEOUT = Duration.ofSeconds(30);
    static KubernetesMockServer server;
    static KubernetesClient client;
    StreamFleet fleet;
    KubeletFixture kubelet;
    HttpClient https;

    @BeforeAll
    void start() throws Exception {
        fleet = StreamFleet.start();
        kubelet = new KubeletFixture(server, client,
                new ControlApiBackend(fleet.controlApi(), fleet.token, StreamFleet.TENANT));
        run("talker", "sh", "-c", "for i in 1 2 3; do echo line-$i; done; exec sleep 3600");
        run("web", "sh", "-c", "mkdir -p /www && echo It works! > /www/index.html && exec httpd -f -p 8080 -h /www");
        Map<String, Object> reader = StreamFleet.container("sh", "-c", "while read l; do echo got:$l; done");
        reader.put("stdin", true);
        fleet.create(kubelet.pod("default", "reader", KubeletFixture.NODE, "main").uid(), "reader", reader);
        fleet.awaitRunning(List.of(uid("talker"), uid("web"), uid("reader")));
        https = HttpClient.newBuilder().sslContext(kubelet.apiServer()).build();
    }

    @AfterAll
    void stop() throws Exception {
        kubelet.close();
        fleet.close();
    }

    private void run(String name, String... command) {
        fleet.create(kubelet.pod("default", name, KubeletFixture.NODE, "main").uid(), name, StreamFleet.container(command));
    }

    private String uid(String name) {
        return client.pods().inNamespace("default").withName(name).get().getMetadata().getUid();
    }

    private static URI exec(KubeletFixture k, String pod, String flags, String... command) {
        StringBuilder q = new StringBuilder();
        for (String part : command) {
            q.append("command=").append(URLEncoder.encode(part, StandardCharsets.UTF_8)).append('&');
        }
        return k.uri("/exec/default/" + pod + "/main?" + q + flags);
    }

    @Test
    void logsComeThroughTheKubeletWithTheirParameters() throws Exception {
        HttpResponse<String> r = https.send(HttpRequest.newBuilder(kubelet.uri("/containerLogs/default/talker/main?tailLines=2"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("line-2\nline-3\n");
        HttpResponse<InputStream> follow = https.send(HttpRequest.newBuilder(
                kubelet.uri("/containerLogs/default/talker/main?follow=true&limitBytes=7")).build(), HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream in = follow.body()) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("line-1\n");
        }
    }

    @Test
    void execOverSpdyAndWebSocketCarriesOutputAndExitCodes() throws Exception {
        SpdyExecClient spdy = new SpdyExecClient(kubelet.apiServer(), null, TIMEOUT);
        ExecResult hi = spdy.run(exec(kubelet, "talker", "stdout=1&stderr=1", "echo", "hi"), null, null);
        assertThat(hi.stdout()).isEqualTo("hi\n");
        assertThat(hi.status()).isEqualTo("{\"metadata\":{},\"status\":\"Success\"}");
        ExecResult three = spdy.run(exec(kubelet, "talker", "stdout=1&stderr=1", "sh", "-c", "echo bad >&2; exit 3"), null, null);
        assertThat(three.exitCode()).isEqualTo(3);
        assertThat(three.stderr()).isEqualTo("bad\n");
        assertThat(three.status()).contains("\"reason\":\"NonZeroExitCode\"");
        WsExecClient ws = new WsExecClient(kubelet.apiServer(), null, TIMEOUT);
        ExecResult upper = ws.run(exec(kubelet, "talker", "stdin=1&stdout=1&stderr=1", "tr", "a-z", "A-Z"),
                WsExecClient.PROTOCOLS, "from stdin\n".getBytes(StandardCharsets.UTF_8), null);
        assertThat(upper.stdout()).isEqualTo("FROM STDIN\n");
        assertThat(upper.exitCode()).isZero();
        ExecResult v4 = ws.run(exec(kubelet, "talker", "stdout=1&stderr=1", "sh", "-c", "exit 3"), List.of("v4.channel.k8s.io"), null, null);
        assertThat(v4.exitCode()).isEqualTo(3);
    }

    /**
     * The size travels apart from the command's start (kubectl sends it once the streams are open),
     * so the shell looks until it arrives, giving up after 15 s (within the client's wait) with whatever size it has.
     */
    static final String WAIT_FOR_SIZE = "end=$(($(date +%s) + 15)); while [ \"$(stty size)\" != '43 132' ] && [ $(date +%s) -lt $end ]; "
            + "do sleep 0.1; done; ";

    @Test
    void aTerminalOverSpdySeesTheSizeKubectlSent() throws Exception {
        ExecResult r = new SpdyExecClient(kubelet.apiServer(), null, TIMEOUT).run(
                exec(kubelet, "talker", "stdout=1&tty=1", "sh", "-c", WAIT_FOR_SIZE + "stty size; exit 7"), null, List.of(new int[] {132, 43}));
        assertThat(r.stdout()).contains("43 132");
        assertThat(r.exitCode()).isEqualTo(7);
    }

    @Test
    void attachOverWebSocketTalksToTheMainProcess() throws Exception {
        // Like kubectl attach -i: stdin stays open (Docker ends an attach whose stdin closes).
        try (WsClient ws = WsClient.open(kubelet.apiServer(), null, kubelet.uri("/attach/default/reader/main?stdin=1&stdout=1&stderr=1"),
                List.of("v4.channel.k8s.io"), TIMEOUT)) {
            ws.send(0, "x\n".getBytes(StandardCharsets.UTF_8));
            await().atMost(TIMEOUT).until(() -> ws.receivedText(1).equals("got:x\n"));
        }
    }

    @Test
    void portForwardOverSpdyAndWebSocketReachesThePod() throws Exception {
        byte[] get = "GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.UTF_8);
        SpdyPortForwardClient.Result spdy = new SpdyPortForwardClient(kubelet.apiServer(), null, TIMEOUT)
                .exchange(kubelet.uri("/portForward/default/web"), 8080, get);
        assertThat(new String(spdy.data(), StandardCharsets.UTF_8)).startsWith("HTTP/1.").endsWith("It works!\n");
        WsPortForwardClient.Result ws = new WsPortForwardClient(kubelet.apiServer(), null, TIMEOUT)
                .exchange(kubelet.uri("/portForward/default/web?ports=8080"), get, spdy.data().length);
        assertThat(new String(ws.data(), StandardCharsets.UTF_8)).contains("It works!");
        assertThat(ws.announcedPort()).isEqualTo(8080);
    }

    @Test
    void statsSummaryHasEachPodsUsageFromItsHost() throws Exception {
        // Usage comes from the host's samples: asked until the talker's are there, however busy the machine.
        await().atMost(TIMEOUT).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            HttpResponse<String> r = https.send(HttpRequest.newBuilder(kubelet.uri("/stats/summary")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            JsonNode talker = null;
            for (JsonNode p : Json.mapper().readTree(r.body()).path("pods")) {
                if (p.at("/podRef/name").asText().equals("talker")) {
                    talker = p;
                }
            }
            assertThat(talker).as(r.body()).isNotNull();
            assertThat(talker.at("/podRef/uid").asText()).isEqualTo(uid("talker"));
            JsonNode main = talker.path("containers").path(0);
            assertThat(main.path("name").asText()).isEqualTo("main");
            assertThat(main.at("/memory/workingSetBytes").asLong()).isBetween(1L, 128L << 20);
            assertThat(main.at("/cpu/usageCoreNanoSeconds").asLong()).isPositive();
        });
        HttpResponse<String> metrics = https.send(HttpRequest.newBuilder(kubelet.uri("/metrics/resource")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(metrics.body()).contains("container_memory_working_set_bytes{container=\"main\",namespace=\"default\",pod=\"talker\"");
    }

    /** A real kubectl (Go's SPDY and WebSocket clients) through an API server's proxying to this kubelet. */
    @Test
    void kubectlLogsExecAndPortForwardWork() throws Exception {
        assertThat(kubectl(Map.of(), null, "version", "--client").exitCode).as("kubectl on the PATH (bash dev/services.sh kubectl)").isZero();
        for (String name : List.of("talker", "web")) {
            var pod = client.pods().inNamespace("default").withName(name).get();
            pod.setStatus(new PodStatusBuilder().withPhase("Running").build());
            client.pods().inNamespace("default").resource(pod).updateStatus();
        }
        try (ApiServerFront front = new ApiServerFront(client, kubelet.apiServer(), kubelet.server.port())) {
            assertThat(kubectl(Map.of(), null, "--server=" + front.server(), "logs", "talker", "--tail=2").stdout).isEqualTo("line-2\nline-3\n");
            for (String websockets : List.of("false", "true")) {
                Map<String, String> env = Map.of("KUBECTL_REMOTE_COMMAND_WEBSOCKETS", websockets);
                Kubectl three = kubectl(env, null, "--server=" + front.server(), "exec", "talker", "--", "sh", "-c", "echo hi; exit 3");
                assertThat(three.exitCode).as(three.toString()).isEqualTo(3);
                assertThat(three.stdout).isEqualTo("hi\n");
                Kubectl upper = kubectl(env, "from kubectl\n", "--server=" + front.server(), "exec", "-i", "talker", "--", "tr", "a-z", "A-Z");
                assertThat(upper.stdout).as(upper.toString()).isEqualTo("FROM KUBECTL\n");
            }
            // Port 0 lets kubectl take a free local port (none is picked beforehand for another process to grab); it prints which.
            ProcessBuilder forward = new ProcessBuilder("kubectl", "--server=" + front.server(), "port-forward", "pod/web", "0:8080")
                    .redirectErrorStream(true);
            forward.environment().put("KUBECTL_PORT_FORWARD_WEBSOCKETS", "false");
            Process pf = forward.start();
            try {
                int local = forwardedPort(pf);
                await().atMost(TIMEOUT).ignoreExceptions().untilAsserted(() -> {
                    try (Socket s = new Socket("127.0.0.1", local)) {
                        s.getOutputStream().write("GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.UTF_8));
                        assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).endsWith("It works!\n");
                    }
                });
            } finally {
                pf.destroy();
            }
        }
    }

    /** The local port from kubectl's "Forwarding from 127.0.0.1:PORT -> 8080"; the rest of its output is drained. */
    private static int forwardedPort(Process pf) throws Exception {
        BufferedReader out = new BufferedReader(new InputStreamReader(pf.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<Integer> port = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            Pattern forwarding = Pattern.compile("Forwarding from 127\\.0\\.0\\.1:([0-9]+) -> 8080");
            StringBuilder seen = new StringBuilder();
            try {
                for (String line; (line = out.readLine()) != null; ) {
                    seen.append(line).append('\n');
                    Matcher m = forwarding.matcher(line);
                    if (m.find()) {
                        port.complete(Integer.parseInt(m.group(1)));
                    }
                }
            } catch (IOException e) {
                // kubectl ended
            }
            port.completeExceptionally(new AssertionError("kubectl port-forward said no local port:\n" + seen));
        }, "kubectl-port-forward-output");
        reader.setDaemon(true);
        reader.start();
        return port.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    }

    private record Kubectl(int exitCode, String stdout, String stderr) {}

    private static Kubectl kubectl(Map<String, String> env, String stdin, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("kubectl"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().putAll(env);
        pb.environment().put("KUBECTL_PORT_FORWARD_WEBSOCKETS", "false"); // SPDY inside WebSocket is the API server's to unwrap
        Process p = pb.start();
        if (stdin != null) {
            p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        }
        p.getOutputStream().close();
        CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> {
            try {
                return p.getErrorStream().readAllBytes();
            } catch (IOException e) {
                return new byte[0];
            }
        });
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("kubectl " + cmd + " ends").isTrue();
        return new Kubectl(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err.get(), StandardCharsets.UTF_8));
    }

    @Test
    void withoutAClientCertificateTheKubeletAnswers401() throws Exception {
        HttpClient anonymous = HttpClient.newBuilder().sslContext(kubelet.pki.anonymous()).build();
        HttpResponse<String> r = anonymous.send(HttpRequest.newBuilder(kubelet.uri("/containerLogs/default/talker/main")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(401);
    }
}
