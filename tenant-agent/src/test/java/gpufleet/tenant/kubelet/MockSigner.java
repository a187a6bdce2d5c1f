package gpufleet.tenant.kubelet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.Base64;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;

/**
 * fabric8's mock API server (expectations mode) as the cluster's CertificateSigningRequest API
 * and its kubelet-serving signer: the agent's request is stored under {@link #NAME}; once
 * {@link #verdict} is "Approved" the request shows a certificate the test cluster CA signed for
 * the subject and SANs it asked for, "Denied" shows a denial.
 */
final class MockSigner {
    static final String CSRS = "/apis/certificates.k8s.io/v1/certificatesigningrequests";
    static final String NAME = "gpufleet-kubelet-serving-x7k2p";
    private final TestPki pki;
    private final ObjectMapper json = new ObjectMapper();
    /** The request as the agent posted it (with its name). */
    volatile ObjectNode csr;
    volatile String verdict = "";
    private volatile X509Certificate issued;

    MockSigner(KubernetesMockServer server, TestPki pki) {
        this.pki = pki;
        server.expect().post().withPath(CSRS).andReply(201, req -> {
            csr = (ObjectNode) read(req.getUtf8Body());
            csr.withObjectProperty("metadata").put("name", NAME);
            return csr.toString();
        }).always();
        server.expect().get().withPath(CSRS + "/" + NAME).andReply(200, req -> current().toString()).always();
    }

    /** The agent may approve its own request (RBAC lets it): approving it is the verdict. */
    MockSigner approvedByTheAgent(KubernetesMockServer server) {
        server.expect().put().withPath(CSRS + "/" + NAME + "/approval").andReply(200, req -> {
            verdict = "Approved";
            return req.getUtf8Body();
        }).always();
        return this;
    }

    JsonNode read(String body) {
        try {
            return json.readTree(body);
        } catch (Exception e) {
            throw new IllegalArgumentException(e);
        }
    }

    /** The certificate the signer issued, or null before approval. */
    X509Certificate issued() {
        return issued;
    }

    private ObjectNode current() {
        ObjectNode now = csr.deepCopy();
        if (verdict.equals("Approved")) {
            now.withObjectProperty("status").putArray("conditions").addObject().put("type", "Approved").put("status", "True");
            now.withObjectProperty("status").put("certificate", Base64.getEncoder().encodeToString(
                    Pem.of(sign(now)).getBytes(StandardCharsets.US_ASCII)));
        } else if (verdict.equals("Denied")) {
            now.withObjectProperty("status").putArray("conditions").addObject().put("type", "Denied").put("status", "True")
                    .put("reason", "AdminDenied").put("message", "not on this cluster");
        }
        return now;
    }

    /** Signs once: every later look at the request shows the same certificate, as the API server keeps it. */
    private synchronized X509Certificate sign(JsonNode request) {
        if (issued != null) {
            return issued;
        }
        try (PEMParser pem = new PEMParser(new StringReader(new String(Base64.getDecoder().decode(request.at("/spec/request").asText()),
                StandardCharsets.US_ASCII)))) {
            PKCS10CertificationRequest p10 = (PKCS10CertificationRequest) pem.readObject();
            Extensions ext = Extensions.getInstance(p10.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)[0]
                    .getAttrValues().getObjectAt(0));
            issued = pki.signServing(p10.getSubject(), new JcaPEMKeyConverter().getPublicKey(p10.getSubjectPublicKeyInfo()),
                    GeneralNames.fromExtensions(ext, Extension.subjectAlternativeName));
            return issued;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
