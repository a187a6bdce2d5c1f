package gpufleet.tenant.kubelet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.io.StringReader;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The serving certificate comes from a CertificateSigningRequest for the kubelet-serving signer:
 * the agent approves it where it may, else waits for an administrator; the mock API server plays
 * the API server and the signer (signing with a test cluster CA once the request is approved).
 */
@EnableKubernetesMockClient
class ServingCertificateTest {
    static final String CSRS = "/apis/certificates.k8s.io/v1/certificatesigningrequests";
    static final String NAME = "gpufleet-kubelet-serving-x7k2p";
    KubernetesMockServer server;
    KubernetesClient client;
    final TestPki pki = new TestPki();
    final ObjectMapper json = new ObjectMapper();
    final List<JsonNode> events = new CopyOnWriteArrayList<>();
    volatile ObjectNode csr;
    volatile String verdict = "";

    @BeforeEach
    void signer() {
        server.expect().post().withPath(CSRS).andReply(201, req -> {
            csr = (ObjectNode) read(req.getUtf8Body());
            csr.withObjectProperty("metadata").put("name", NAME);
            return csr.toString();
        }).always();
        server.expect().get().withPath(CSRS + "/" + NAME).andReply(200, req -> current().toString()).always();
        server.expect().post().withPath("/api/v1/namespaces/default/events").andReply(201, req -> {
            events.add(read(req.getUtf8Body()));
            return req.getUtf8Body();
        }).always();
    }

    private JsonNode read(String body) {
        try {
            return json.readTree(body);
        } catch (Exception e) {
            throw new IllegalArgumentException(e);
        }
    }

    /** The request as the API server shows it now: approved (and then signed) or denied per {@link #verdict}. */
    private ObjectNode current() {
        ObjectNode now = csr.deepCopy();
        if (verdict.equals("Approved")) {
            now.withObjectProperty("status").putArray("conditions").addObject().put("type", "Approved").put("status", "True");
            now.withObjectProperty("status").put("certificate", Base64.getEncoder().encodeToString(sign(now).getBytes(StandardCharsets.US_ASCII)));
        } else if (verdict.equals("Denied")) {
            now.withObjectProperty("status").putArray("conditions").addObject().put("type", "Denied").put("status", "True")
                    .put("reason", "AdminDenied").put("message", "not on this cluster");
        }
        return now;
    }

    private String sign(JsonNode request) {
        try (PEMParser pem = new PEMParser(new StringReader(new String(Base64.getDecoder().decode(request.at("/spec/request").asText()),
                StandardCharsets.US_ASCII)))) {
            PKCS10CertificationRequest p10 = (PKCS10CertificationRequest) pem.readObject();
            Extensions ext = Extensions.getInstance(p10.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)[0].getAttrValues().getObjectAt(0));
            X509Certificate cert = pki.signServing(p10.getSubject(), new JcaPEMKeyConverter().getPublicKey(p10.getSubjectPublicKeyInfo()),
                    GeneralNames.fromExtensions(ext, Extension.subjectAlternativeName));
            return Pem.of(cert);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void theAgentApprovesItsRequestAndServesWithTheIssuedCertificate() throws Exception {
        server.expect().put().withPath(CSRS + "/" + NAME + "/approval").andReply(200, req -> {
            verdict = "Approved";
            return req.getUtf8Body();
        }).always();
        ServingCertificate.Material m = ServingCertificate.fromCluster(client, "k8s.gpu", "127.0.0.1", Duration.ofMillis(50));
        X509Certificate cert = m.chain().get(0);
        assertThat(cert.getSubjectX500Principal().getName()).isEqualTo("CN=system:node:k8s.gpu,O=system:nodes");
        assertThat(cert.getSubjectAlternativeNames()).extracting(n -> n.get(1).toString()).containsExactly("k8s.gpu", "127.0.0.1");
        assertThat(csr.at("/spec/signerName").asText()).isEqualTo("kubernetes.io/kubelet-serving");
        assertThat(csr.at("/spec/usages")).extracting(JsonNode::asText).containsExactly("digital signature", "server auth");
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
        Thread admin = new Thread(() -> {
            try {
                Thread.sleep(500);
                verdict = "Approved";
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        admin.start();
        ServingCertificate.Material m = ServingCertificate.fromCluster(client, "k8s.gpu", "10.0.0.7", Duration.ofMillis(50));
        assertThat(m.chain().get(0).getSubjectAlternativeNames()).extracting(n -> n.get(1).toString()).contains("10.0.0.7");
        assertThat(events).singleElement().satisfies(e -> {
            assertThat(e.path("reason").asText()).isEqualTo("WaitingForApproval");
            assertThat(e.at("/involvedObject/name").asText()).isEqualTo(NAME);
            assertThat(e.path("message").asText()).contains("kubectl certificate approve " + NAME);
        });
    }

    @Test
    void aDeniedRequestIsAnErrorNamingIt() {
        server.expect().put().withPath(CSRS + "/" + NAME + "/approval").andReply(403, req -> "{\"kind\":\"Status\",\"code\":403}").always();
        verdict = "Denied";
        assertThatThrownBy(() -> ServingCertificate.fromCluster(client, "k8s.gpu", "10.0.0.7", Duration.ofMillis(50)))
                .hasMessage("CertificateSigningRequest " + NAME + " for the kubelet API was denied: AdminDenied not on this cluster");
    }

    @Test
    void aSelfSignedCertificateNamesTheNode() throws Exception {
        ServingCertificate.Material m = ServingCertificate.selfSigned("k8s.gpu", "10.0.0.7");
        assertThat(m.chain().get(0).getSubjectAlternativeNames()).extracting(n -> n.get(1).toString()).containsExactly("k8s.gpu", "10.0.0.7");
    }
}
