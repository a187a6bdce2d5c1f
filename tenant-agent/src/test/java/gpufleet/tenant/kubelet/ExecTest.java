package gpufleet.tenant.kubelet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** kubectl exec and attach through the kubelet API, over SPDY/3.1 and WebSocket, running real processes. */
@EnableKubernetesMockClient(crud = true)
class ExecTest {
    static final Duration TIMEOUT = Duration.ofSeconds(20);
    KubernetesMockServer server;
    KubernetesClient client;
    @TempDir
    Path tmp;
    KubeletFixture fx;
    KubeletBackend.PodRef pod;

    @BeforeEach
    void start() throws Exception {
        fx = new KubeletFixture(server, client, tmp);
        pod = fx.pod("default", "hello", KubeletFixture.NODE, "main");
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    private URI exec(String command, String flags) {
        StringBuilder q = new StringBuilder();
        for (String part : List.of("sh", "-c", command)) {
            q.append("command=").append(URLEncoder.encode(part, StandardCharsets.UTF_8)).append('&');
        }
        return fx.uri("/exec/default/hello/main?" + q + flags);
    }

    private SpdyExecClient spdy() {
        return new SpdyExecClient(fx.apiServer(), null, TIMEOUT);
    }

    private WsExecClient ws() {
        return new WsExecClient(fx.apiServer(), null, TIMEOUT);
    }

    @Test
    void echoOverSpdyExitsZeroWithASuccessStatus() throws Exception {
        ExecResult r = spdy().run(exec("echo hi; echo oops >&2", "stdout=1&stderr=1"), null, null);
        assertThat(r.stdout()).isEqualTo("hi\n");
        assertThat(r.stderr()).isEqualTo("oops\n");
        assertThat(r.status()).isEqualTo("{\"metadata\":{},\"status\":\"Success\"}");
        assertThat(r.exitCode()).isZero();
    }

    @Test
    void exitCodeThreeOverSpdyComesBackAsKubectlReadsIt() throws Exception {
        ExecResult r = spdy().run(exec("echo hi; exit 3", "stdout=1&stderr=1"), null, null);
        assertThat(r.stdout()).isEqualTo("hi\n");
        assertThat(r.exitCode()).isEqualTo(3);
        assertThat(r.status()).isEqualTo("{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command terminated with non-zero exit code: "
                + "error executing command [sh -c echo hi; exit 3], exit code 3\",\"reason\":\"NonZeroExitCode\","
                + "\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"3\"}]}}");
    }

    @Test
    void stdinReachesTheProcessOverSpdy() throws Exception {
        ExecResult r = spdy().run(exec("tr a-z A-Z", "stdin=1&stdout=1&stderr=1"), "hello from stdin\n".getBytes(StandardCharsets.UTF_8), null);
        assertThat(r.stdout()).isEqualTo("HELLO FROM STDIN\n");
        assertThat(r.exitCode()).isZero();
    }

    @Test
    void olderSpdyProtocolsGetTheFailureAsPlainText() throws Exception {
        ExecResult r = spdy().run(exec("exit 3", "stdout=1"), List.of("v3.channel.k8s.io"), null, null);
        assertThat(r.status()).isEqualTo("command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3");
        assertThat(spdy().run(exec("true", "stdout=1"), List.of("v2.channel.k8s.io"), null, null).status()).isEmpty();
    }

    @Test
    void anUnknownProtocolOrAMissingCommandIsRefused() {
        assertThatThrownBy(() -> spdy().run(exec("true", "stdout=1"), List.of("v9.channel.k8s.io"), null, null))
                .isInstanceOfSatisfying(SpdyClientConnection.Refused.class, e -> {
                    assertThat(e.status).isEqualTo(403);
                    assertThat(e.body).contains("unable to negotiate protocol: client supports [v9.channel.k8s.io]");
                });
        assertThatThrownBy(() -> spdy().run(fx.uri("/exec/default/hello/main?stdout=1"), null, null))
                .isInstanceOfSatisfying(SpdyClientConnection.Refused.class, e -> assertThat(e.status).isEqualTo(400));
        assertThatThrownBy(() -> spdy().run(fx.uri("/exec/default/hello/main?command=true"), null, null))
                .isInstanceOfSatisfying(SpdyClientConnection.Refused.class,
                        e -> assertThat(e.body).contains("you must specify at least 1 of stdin, stdout, stderr"));
    }

    @Test
    void echoOverWebSocketV5AndV4() throws Exception {
        for (String protocol : List.of("v5.channel.k8s.io", "v4.channel.k8s.io", "v4.base64.channel.k8s.io")) {
            ExecResult r = ws().run(exec("echo hi; echo oops >&2", "stdout=1&stderr=1"), List.of(protocol), null, null);
            assertThat(r.stdout()).as(protocol).isEqualTo("hi\n");
            assertThat(r.stderr()).as(protocol).isEqualTo("oops\n");
            assertThat(r.exitCode()).as(protocol).isZero();
        }
    }

    @Test
    void exitCodeThreeOverWebSocket() throws Exception {
        ExecResult r = ws().run(exec("echo hi; exit 3", "stdout=1&stderr=1"), WsExecClient.PROTOCOLS, null, null);
        assertThat(r.stdout()).isEqualTo("hi\n");
        assertThat(r.exitCode()).isEqualTo(3);
    }

    @Test
    void stdinOverWebSocketV5EndsWithTheCloseSignal() throws Exception {
        ExecResult r = ws().run(exec("wc -c", "stdin=1&stdout=1"), WsExecClient.PROTOCOLS, "12345".getBytes(StandardCharsets.UTF_8), null);
        assertThat(r.stdout().trim()).isEqualTo("5");
        assertThat(r.exitCode()).isZero();
    }

    @Test
    void terminalSizesReachTheBackendOverBothTransports() throws Exception {
        ExecResult r = spdy().run(exec("cat", "stdin=1&stdout=1&tty=1"), "x".getBytes(StandardCharsets.UTF_8),
                List.of(new int[] {80, 24}, new int[] {120, 40}));
        assertThat(r.stdout()).isEqualTo("x");
        ExecResult w = ws().run(exec("cat", "stdin=1&stdout=1&tty=1"), WsExecClient.PROTOCOLS, "y".getBytes(StandardCharsets.UTF_8),
                List.of(new int[] {100, 30}));
        assertThat(w.stdout()).isEqualTo("y");
        assertThat(fx.backend.resizes).extracting(s -> s[0] + "x" + s[1]).containsExactly("80x24", "120x40", "100x30");
    }

    @Test
    void aClientThatLeavesEndsTheSession() throws Exception {
        try (SpdyClientConnection c = SpdyClientConnection.open(exec("sleep 60", "stdout=1"), fx.apiServer(), null,
                SpdyExecClient.PROTOCOLS, "POST", TIMEOUT)) {
            c.openStream(Map.of("streamtype", "error"), TIMEOUT);
            c.openStream(Map.of("streamtype", "stdout"), TIMEOUT);
            await().atMost(TIMEOUT).until(() -> !fx.backend.processes.isEmpty());
        }
        Process sleeper = fx.backend.processes.get(0);
        await().atMost(TIMEOUT).until(() -> !sleeper.isAlive());
    }

    @Test
    void attachConnectsToTheContainersProcess() throws Exception {
        URI attach = fx.uri("/attach/default/hello/main?stdin=1&stdout=1&stderr=1");
        assertThat(spdy().run(attach, "over spdy".getBytes(StandardCharsets.UTF_8), null).stdout()).isEqualTo("over spdy");
        assertThat(ws().run(attach, WsExecClient.PROTOCOLS, "over ws".getBytes(StandardCharsets.UTF_8), null).stdout()).isEqualTo("over ws");
    }
}
