package gpufleet.tenant.kubelet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The serving certificate comes from a CertificateSigningRequest for the kubelet-serving signer:
 * the agent approves it where it may, else waits for an administrator; the mock API server plays
 * the API server and the signer (signing with a test cluster CA once the request is approved).
 */
@EnableKubernetesMockClient
class ServingCertificateTest {
    static final String CSRS = MockSigner.CSRS;
    static final String NAME = MockSigner.NAME;
    KubernetesMockServer server;
    KubernetesClient client;
    final TestPki pki = new TestPki();
    final List<JsonNode> events = new CopyOnWriteArrayList<>();
    MockSigner signer;

    @BeforeEach
    void signer() {
        signer = new MockSigner(server, pki);
        server.expect().post().withPath("/api/v1/namespaces/default/events").andReply(201, req -> {
            events.add(signer.read(req.getUtf8Body()));
            return req.getUtf8Body();
        }).always();
    }

    @Test
    void theAgentApprovesItsRequestAndServesWithTheIssuedCertificate() throws Exception {
        signer.approvedByTheAgent(server);
        ServingCertificate.Material m = ServingCertificate.fromCluster(client, "k8s.gpu", "127.0.0.1", Duration.ofMillis(50), true);
        X509Certificate cert = m.chain().get(0);
        assertThat(cert.getSubjectX500Principal().getName()).isEqualTo("CN=system:node:k8s.gpu,O=system:nodes");
        assertThat(cert.getSubjectAlternativeNames()).extracting(n -> n.get(1).toString()).containsExactly("k8s.gpu", "127.0.0.1");
        assertThat(cert).isEqualTo(signer.issued());
        assertThat(signer.csr.at("/spec/signerName").asText()).isEqualTo("kubernetes.io/kubelet-serving");
        assertThat(signer.csr.at("/spec/usages")).extracting(JsonNode::asText).containsExactly("digital signature", "server auth");
        assertThat(events).isEmpty();
        try (KubeletServer s = KubeletServer.start(new InetSocketAddress("127.0.0.1", 0), "k8s.gpu",
                new KubeletServer.Tls(m.key(), m.chain(), List.of()), new ProcessBackend(Path.of("/nonexistent")), client)) {
            HttpResponse<String> r = HttpClient.newBuilder().sslContext(pki.anonymous()).build().send(HttpRequest.newBuilder(
                    URI.create("https://127.0.0.1:" + s.port() + "/healthz")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.body()).isEqualTo("ok");
        }
    }

    @Test
    void withoutTheRightToApproveItWaitsForAnAdministratorAndSaysSo() throws Exception {
        server.expect().put().withPath(CSRS + "/" + NAME + "/approval").andReply(403, req -> (
                "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"reason\":\"Forbidden\",\"code\":403,"
                        + "\"message\":\"certificatesigningrequests.certificates.k8s.io \\\"" + NAME + "\\\" is forbidden: user not permitted to approve requests with signerName \\\"kubernetes.io/kubelet-serving\\\"\"}"))
                .always();
        // The administrator approves once the agent said what it waits for, as a person reading the Event would
        // (at the latest after a minute, so that an agent that says nothing fails below instead of waiting forever).
        Thread admin = new Thread(() -> {
            try {
                await().atMost(Duration.ofSeconds(60)).until(() -> !events.isEmpty());
            } finally {
                signer.verdict = "Approved";
            }
        });
        admin.setDaemon(true);
        admin.start();
        ServingCertificate.Material m = ServingCertificate.fromCluster(client, "k8s.gpu", "10.0.0.7", Duration.ofMillis(50), true);
        assertThat(m.chain().get(0).getSubjectAlternativeNames()).extracting(n -> n.get(1).toString()).contains("10.0.0.7");
        assertThat(events).singleElement().satisfies(e -> {
            assertThat(e.path("type").asText()).isEqualTo("Warning");
            assertThat(e.path("reason").asText()).isEqualTo("WaitingForApproval");
            assertThat(e.at("/involvedObject/name").asText()).isEqualTo(NAME);
            assertThat(e.path("message").asText()).contains("kubectl certificate approve " + NAME);
        });
    }

    /** The default: the cluster's approver decides; the agent never asks to approve, and says what it waits for. */
    @Test
    void byDefaultTheAgentLeavesTheApprovalToTheClusterAndWaits() throws Exception {
        AtomicInteger approvals = new AtomicInteger();
        server.expect().put().withPath(CSRS + "/" + NAME + "/approval").andReply(200, req -> {
            approvals.incrementAndGet();
            return req.getUtf8Body();
        }).always();
        Thread approver = new Thread(() -> {
            try {
                await().atMost(Duration.ofSeconds(60)).until(() -> !events.isEmpty());
            } finally {
                signer.verdict = "Approved";
            }
        });
        approver.setDaemon(true);
        approver.start();
        ServingCertificate.Material m = ServingCertificate.fromCluster(client, "k8s.gpu", "10.0.0.7", Duration.ofMillis(50), false);
        assertThat(m.chain().get(0)).isEqualTo(signer.issued());
        assertThat(approvals).as("approval requests from the agent").hasValue(0);
        assertThat(events).singleElement().satisfies(e -> {
            assertThat(e.path("type").asText()).isEqualTo("Normal");
            assertThat(e.path("reason").asText()).isEqualTo("WaitingForApproval");
            assertThat(e.path("message").asText()).contains("the cluster's approver", "kubectl certificate approve " + NAME);
        });
    }

    @Test
    void aDeniedRequestIsAnErrorNamingIt() {
        server.expect().put().withPath(CSRS + "/" + NAME + "/approval").andReply(403, req -> "{\"kind\":\"Status\",\"code\":403}").always();
        signer.verdict = "Denied";
        assertThatThrownBy(() -> ServingCertificate.fromCluster(client, "k8s.gpu", "10.0.0.7", Duration.ofMillis(50), false))
                .hasMessage("CertificateSigningRequest " + NAME + " for the kubelet API was denied: AdminDenied not on this cluster");
    }

    @Test
    void aSelfSignedCertificateNamesTheNode() throws Exception {
        ServingCertificate.Material m = ServingCertificate.selfSigned("k8s.gpu", "10.0.0.7");
        assertThat(m.chain().get(0).getSubjectAlternativeNames()).extracting(n -> n.get(1).toString()).containsExactly("k8s.gpu", "10.0.0.7");
    }
}
