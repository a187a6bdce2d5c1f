package gpufleet.tenant.kubelet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who may use the kubelet API: a client certificate from the cluster CA or a bearer token the API
 * server vouches for (TokenReview), then the node's subresource allowed by SubjectAccessReview.
 */
@EnableKubernetesMockClient(crud = true)
class KubeletAuthTest {
    static final Duration TIMEOUT = Duration.ofSeconds(20);
    KubernetesMockServer server;
    KubernetesClient client;
    @TempDir
    Path tmp;
    KubeletFixture fx;

    @BeforeEach
    void start() throws Exception {
        fx = new KubeletFixture(server, client, tmp);
        KubeletBackend.PodRef pod = fx.pod("default", "hello", KubeletFixture.NODE, "main");
        fx.backend.writeLog(pod, "main", false, List.of("2026-11-28T10:00:00Z hello"));
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    private HttpResponse<String> get(SSLContext ssl, String token, String path) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(fx.uri(path));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return HttpClient.newBuilder().sslContext(ssl).build().send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void withoutCertificateOrTokenItIs401() throws Exception {
        HttpResponse<String> r = get(fx.pki.anonymous(), null, "/containerLogs/default/hello/main");
        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(r.body()).contains("\"reason\":\"Unauthorized\"");
        assertThat(get(fx.pki.anonymous(), "not-a-token", "/stats/summary").statusCode()).isEqualTo(401);
        assertThatThrownBy(() -> new SpdyExecClient(fx.pki.anonymous(), null, TIMEOUT)
                .run(fx.uri("/exec/default/hello/main?command=true&stdout=1"), null, null))
                .isInstanceOfSatisfying(SpdyClientConnection.Refused.class, e -> assertThat(e.status).isEqualTo(401));
        assertThatThrownBy(() -> new WsExecClient(fx.pki.anonymous(), null, TIMEOUT)
                .run(fx.uri("/exec/default/hello/main?command=true&stdout=1"), WsExecClient.PROTOCOLS, null, null))
                .isInstanceOfSatisfying(WsClient.Refused.class, e -> assertThat(e.status).isEqualTo(401));
    }

    @Test
    void healthzNeedsNoCredentials() throws Exception {
        HttpResponse<String> r = get(fx.pki.anonymous(), null, "/healthz");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("ok");
    }

    @Test
    void aTokenTheApiServerVouchesForIsAccepted() throws Exception {
        fx.tokens.put("t0ken", "metrics-reader");
        fx.allowed.put("metrics-reader", Set.of("stats", "metrics"));
        assertThat(get(fx.pki.anonymous(), "t0ken", "/stats/summary").statusCode()).isEqualTo(200);
        assertThat(get(fx.pki.anonymous(), "t0ken", "/metrics/resource").statusCode()).isEqualTo(200);
        assertThat(get(fx.pki.anonymous(), "t0ken", "/metrics/resource").statusCode()).isEqualTo(200);
        assertThat(fx.tokenReviews).as("TokenReviews asked, the answer being cached").hasValue(1);
        assertThat(fx.accessReviews).as("SubjectAccessReviews asked, one per subresource").hasValue(2);
    }

    @Test
    void subjectAccessReviewDeniesWith403AndTheKubeletsMessage() throws Exception {
        fx.tokens.put("t0ken", "metrics-reader");
        fx.allowed.put("metrics-reader", Set.of("stats"));
        HttpResponse<String> r = get(fx.pki.anonymous(), "t0ken", "/containerLogs/default/hello/main");
        assertThat(r.statusCode()).isEqualTo(403);
        assertThat(r.body()).contains("Forbidden (user=metrics-reader, verb=get, resource=nodes, subresource=proxy): no RBAC policy matched");
        SSLContext stranger = fx.pki.client("jane", "developers");
        assertThat(get(stranger, null, "/metrics/resource").statusCode()).isEqualTo(403);
        assertThatThrownBy(() -> new SpdyExecClient(stranger, null, TIMEOUT)
                .run(fx.uri("/exec/default/hello/main?command=true&stdout=1"), null, null))
                .isInstanceOfSatisfying(SpdyClientConnection.Refused.class, e -> {
                    assertThat(e.status).isEqualTo(403);
                    assertThat(e.body).contains("Forbidden (user=jane, verb=create, resource=nodes, subresource=proxy)");
                });
    }

    @Test
    void unknownPathsAre404AndWrongMethods405() throws Exception {
        assertThat(get(fx.apiServer(), null, "/stats/container").statusCode()).isEqualTo(404);
        assertThat(get(fx.apiServer(), null, "/nothing/here").statusCode()).isEqualTo(404);
        HttpResponse<String> post = HttpClient.newBuilder().sslContext(fx.apiServer()).build().send(HttpRequest.newBuilder(
                fx.uri("/containerLogs/default/hello/main")).POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(post.statusCode()).isEqualTo(405);
    }

    @Test
    void aClientCertificateFromAnotherCaIsRefusedAtTheHandshake() {
        SSLContext foreign = new TestPki().client(KubeletFixture.API_SERVER_USER, "system:masters");
        assertThatThrownBy(() -> get(foreign, null, "/healthz")).isInstanceOf(Exception.class);
    }

    @Test
    void attributesFollowTheKubeletsPathRules() {
        assertThat(KubeletAuth.attributes("GET", "/stats/summary")).isEqualTo(new KubeletAuth.Attributes("get", "stats"));
        assertThat(KubeletAuth.attributes("GET", "/metrics/resource")).isEqualTo(new KubeletAuth.Attributes("get", "metrics"));
        assertThat(KubeletAuth.attributes("GET", "/logs/")).isEqualTo(new KubeletAuth.Attributes("get", "log"));
        assertThat(KubeletAuth.attributes("POST", "/exec/a/b/c")).isEqualTo(new KubeletAuth.Attributes("create", "proxy"));
        assertThat(KubeletAuth.attributes("GET", "/containerLogs/a/b/c")).isEqualTo(new KubeletAuth.Attributes("get", "proxy"));
        assertThat(KubeletAuth.attributes("GET", "/statsfoo")).isEqualTo(new KubeletAuth.Attributes("get", "proxy"));
    }
}
