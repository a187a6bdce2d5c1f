package gpufleet.tenant.kubelet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kubelet API's configuration, and the service that starts it beside the agent: what a caller
 * meets when it connects (the certificate, and a 401 without credentials).
 */
@EnableKubernetesMockClient
class KubeletServiceTest {
    static final Duration TIMEOUT = Duration.ofSeconds(60);
    KubernetesMockServer server;
    KubernetesClient client;
    @TempDir
    Path tmp;

    @Test
    void defaultsAreACertificateFromTheClusterOnEveryAddress() {
        KubeletConfig c = KubeletConfig.fromEnvironment(Map.of());
        assertThat(c.tls()).isEqualTo(KubeletConfig.Tls.CSR);
        assertThat(c.bindAddress()).isEqualTo("0.0.0.0");
        assertThat(c.clientCaFile()).isNull();
        assertThat(c.selfApprove()).as("the cluster's approver approves the certificate unless the operator opts in").isFalse();
        assertThat(KubeletConfig.fromEnvironment(Map.of("GPUFLEET_KUBELET_CSR_SELF_APPROVE", "true")).selfApprove()).isTrue();
    }

    @Test
    void badValuesAreNamed() {
        assertThatThrownBy(() -> KubeletConfig.fromEnvironment(Map.of("GPUFLEET_KUBELET_TLS", "plain",
                "GPUFLEET_KUBELET_CLIENT_CA_FILE", "/nonexistent/ca.crt", "GPUFLEET_KUBELET_CSR_SELF_APPROVE", "yes")))
                .hasMessageContaining("GPUFLEET_KUBELET_CSR_SELF_APPROVE: 'yes' is not true or false")
                .hasMessageContaining("GPUFLEET_KUBELET_TLS: 'plain' is not one of csr, self-signed, off")
                .hasMessageContaining("GPUFLEET_KUBELET_CLIENT_CA_FILE: '/nonexistent/ca.crt' cannot be read");
    }

    /** The cluster's kubelet-serving signer issues the certificate; callers that trust the cluster CA verify the node by it. */
    @Test
    void itServesTheCertificateTheClusterIssuedAndAsksCallersWhoTheyAre() throws Exception {
        TestPki cluster = new TestPki();
        Path ca = Files.writeString(tmp.resolve("ca.crt"), Pem.of(cluster.ca()));
        KubeletConfig config = new KubeletConfig(KubeletConfig.Tls.CSR, ca, "127.0.0.1", Duration.ofMillis(50), true);
        MockSigner signer = new MockSigner(server, cluster).approvedByTheAgent(server);
        try (KubeletService service = new KubeletService(config, client, "k8s.gpu", "127.0.0.1", 0)) {
            service.start(new ProcessBackend(tmp));
            await().atMost(TIMEOUT).until(() -> service.port() != 0);
            // The JDK client checks the chain against the cluster CA and 127.0.0.1 against the SANs.
            HttpResponse<String> r = logsWithoutCredentials(cluster.anonymous(), service.port());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(401);
            assertThat(r.body()).contains("\"reason\":\"Unauthorized\"");
            X509Certificate presented = (X509Certificate) r.sslSession().orElseThrow().getPeerCertificates()[0];
            assertThat(presented).as("the certificate the cluster issued for this node").isEqualTo(signer.issued());
            assertThat(presented.getSubjectX500Principal().getName()).isEqualTo("CN=system:node:k8s.gpu,O=system:nodes");
            assertThat(presented.getIssuerX500Principal()).isEqualTo(cluster.ca().getSubjectX500Principal());
            assertThat(presented.getSubjectAlternativeNames()).extracting(n -> n.get(0) + " " + n.get(1))
                    .containsExactly("2 k8s.gpu", "7 127.0.0.1");
            assertThat(presented.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1");
        }
    }

    /** Self-signed (configured, for API servers that do not verify kubelets): the node signs its own certificate. */
    @Test
    void selfSignedWhenConfiguredItPresentsItsOwnCertificateForTheNode() throws Exception {
        KubeletConfig config = new KubeletConfig(KubeletConfig.Tls.SELF_SIGNED, null, "127.0.0.1", Duration.ofMillis(50), false);
        try (KubeletService service = new KubeletService(config, client, "k8s.gpu", "127.0.0.1", 0)) {
            service.start(new ProcessBackend(tmp));
            await().atMost(TIMEOUT).until(() -> service.port() != 0);
            Recorder seen = new Recorder();
            SSLContext ssl = SSLContext.getInstance("TLS");
            ssl.init(null, new TrustManager[] {seen}, null);
            HttpResponse<String> r = logsWithoutCredentials(ssl, service.port());
            assertThat(r.statusCode()).isEqualTo(401);
            X509Certificate presented = seen.chain.get(0);
            assertThat(seen.chain).hasSize(1);
            assertThat(presented.getSubjectX500Principal().getName()).isEqualTo("CN=system:node:k8s.gpu,O=system:nodes");
            assertThat(presented.getIssuerX500Principal()).isEqualTo(presented.getSubjectX500Principal());
            presented.verify(presented.getPublicKey()); // signed by its own key
            assertThat(presented.getSubjectAlternativeNames()).extracting(n -> n.get(0) + " " + n.get(1))
                    .containsExactly("2 k8s.gpu", "7 127.0.0.1");
        }
    }

    @Test
    void offServesNothing() {
        KubeletConfig config = KubeletConfig.fromEnvironment(Map.of("GPUFLEET_KUBELET_TLS", "off"));
        try (KubeletService service = new KubeletService(config, client, "k8s.gpu", "127.0.0.1", 0)) {
            service.start(new ProcessBackend(Path.of("/nonexistent")));
            assertThat(service.port()).isZero();
        }
    }

    private static HttpResponse<String> logsWithoutCredentials(SSLContext ssl, int port) throws Exception {
        return HttpClient.newBuilder().sslContext(ssl).build().send(HttpRequest.newBuilder(
                URI.create("https://127.0.0.1:" + port + "/containerLogs/default/hello/main")).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Trusts any server, keeping the chain it presented (the self-signed certificate is known only once served). */
    private static final class Recorder implements X509TrustManager {
        volatile List<X509Certificate> chain = List.of();

        @Override
        public void checkServerTrusted(X509Certificate[] presented, String authType) {
            chain = List.of(presented);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] presented, String authType) {
            throw new UnsupportedOperationException("a client only");
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
