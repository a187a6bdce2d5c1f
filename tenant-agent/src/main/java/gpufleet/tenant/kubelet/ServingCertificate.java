package gpufleet.tenant.kubelet;

import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.MicroTime;
import io.fabric8.kubernetes.api.model.certificates.v1.CertificateSigningRequest;
import io.fabric8.kubernetes.api.model.certificates.v1.CertificateSigningRequestBuilder;
import io.fabric8.kubernetes.api.model.certificates.v1.CertificateSigningRequestCondition;
import io.fabric8.kubernetes.api.model.certificates.v1.CertificateSigningRequestConditionBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.bouncycastle.util.io.pem.PemObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The kubelet API's serving certificate, issued by the cluster as a real kubelet's is: a
 * CertificateSigningRequest for the {@code kubernetes.io/kubelet-serving} signer naming
 * {@code system:node:<node>} in {@code system:nodes}, with the node's name and address as SANs.
 * The cluster's approver (or an administrator) approves it, as for a real kubelet's: the agent
 * waits, saying so in its log and in an Event. Only where the operator opted in (self-approval,
 * with RBAC to approve on that signer) does the agent approve it itself. The key never leaves memory.
 */
public final class ServingCertificate {
    static final String SIGNER = "kubernetes.io/kubelet-serving";
    private static final Logger log = LoggerFactory.getLogger(ServingCertificate.class);

    /** A key and the certificate chain that goes with it. */
    public record Material(PrivateKey key, List<X509Certificate> chain) {}

    private ServingCertificate() {}

    /**
     * Asks the cluster for a certificate and waits until it is issued; fails when the request is
     * denied or fails. {@code selfApprove}: the agent approves the request itself first.
     */
    public static Material fromCluster(KubernetesClient k8s, String nodeName, String address, Duration poll, boolean selfApprove)
            throws InterruptedException {
        KeyPair keys = keyPair();
        CertificateSigningRequest csr = k8s.certificates().v1().certificateSigningRequests().resource(new CertificateSigningRequestBuilder()
                .withNewMetadata().withGenerateName("gpufleet-kubelet-serving-")
                .addToLabels("app.kubernetes.io/managed-by", "gpufleet-tenant-agent").endMetadata()
                .withNewSpec().withSignerName(SIGNER).withUsages("digital signature", "server auth")
                .withRequest(Base64.getEncoder().encodeToString(csrPem(keys, nodeName, address).getBytes(StandardCharsets.US_ASCII)))
                .endSpec().build()).create();
        String name = csr.getMetadata().getName();
        if (selfApprove) {
            approve(k8s, name, nodeName);
        } else {
            log.info("kubelet API waits for its serving certificate: CertificateSigningRequest {} goes to the cluster's approver "
                    + "(or an administrator: kubectl certificate approve {})", name, name);
            waiting(k8s, name, nodeName, "Normal", "The kubelet API of node " + nodeName + " waits for the cluster's approver "
                    + "to approve this request (or: kubectl certificate approve " + name + ")");
        }
        long lastNotice = 0;
        while (true) {
            CertificateSigningRequest now = k8s.certificates().v1().certificateSigningRequests().withName(name).get();
            if (now == null) {
                throw new IllegalStateException("CertificateSigningRequest " + name + " for the kubelet API was deleted before it was issued");
            }
            String refused = refusal(now);
            if (refused != null) {
                throw new IllegalStateException("CertificateSigningRequest " + name + " for the kubelet API " + refused);
            }
            if (now.getStatus() != null && now.getStatus().getCertificate() != null && !now.getStatus().getCertificate().isEmpty()) {
                List<X509Certificate> chain = parseChain(Base64.getDecoder().decode(now.getStatus().getCertificate()));
                log.info("kubelet serving certificate issued by {} through CertificateSigningRequest {}, valid until {}",
                        chain.get(0).getIssuerX500Principal().getName(), name, chain.get(0).getNotAfter().toInstant());
                return new Material(keys.getPrivate(), chain);
            }
            if (System.nanoTime() - lastNotice > Duration.ofMinutes(1).toNanos()) {
                lastNotice = System.nanoTime();
                log.info("kubelet API waits for its serving certificate: CertificateSigningRequest {} is not issued yet{}", name,
                        approved(now) ? "" : " (approve it: kubectl certificate approve " + name + ")");
            }
            Thread.sleep(poll.toMillis());
        }
    }

    private static void approve(KubernetesClient k8s, String name, String nodeName) {
        CertificateSigningRequestCondition approved = new CertificateSigningRequestConditionBuilder().withType("Approved")
                .withStatus("True").withReason("GpuFleetTenantAgentApproved")
                .withMessage("the tenant-agent approved the serving certificate of its virtual node " + nodeName).build();
        try {
            k8s.certificates().v1().certificateSigningRequests().withName(name).approve(approved);
        } catch (KubernetesClientException e) {
            log.warn("kubelet API waits for its serving certificate: the agent may not approve CertificateSigningRequest {} ({}); "
                    + "an administrator can: kubectl certificate approve {}", name, e.getStatus() == null ? e.getMessage()
                    : e.getStatus().getMessage(), name);
            waiting(k8s, name, nodeName, "Warning", "The kubelet API of node " + nodeName
                    + " waits for this request to be approved: kubectl certificate approve " + name);
        }
    }

    /** An Event on the request that says what the agent waits for, where {@code kubectl get events} shows it. */
    private static void waiting(KubernetesClient k8s, String name, String nodeName, String type, String message) {
        k8s.v1().events().inNamespace("default").resource(new EventBuilder().withNewMetadata().withGenerateName(name + ".")
                .endMetadata().withNewInvolvedObject().withApiVersion("certificates.k8s.io/v1").withKind("CertificateSigningRequest")
                .withName(name).endInvolvedObject().withType(type).withReason("WaitingForApproval").withMessage(message)
                .withNewSource().withComponent("gpufleet-tenant-agent").withHost(nodeName).endSource()
                .withEventTime(new MicroTime(Instant.now().toString())).withReportingComponent("gpufleet-tenant-agent")
                .withReportingInstance(nodeName).withAction("Approve").build()).create();
    }

    private static boolean approved(CertificateSigningRequest csr) {
        return csr.getStatus() != null && csr.getStatus().getConditions().stream()
                .anyMatch(c -> "Approved".equals(c.getType()) && "True".equals(c.getStatus()));
    }

    private static String refusal(CertificateSigningRequest csr) {
        if (csr.getStatus() == null) {
            return null;
        }
        for (CertificateSigningRequestCondition c : csr.getStatus().getConditions()) {
            if (("Denied".equals(c.getType()) || "Failed".equals(c.getType())) && "True".equals(c.getStatus())) {
                return ("Denied".equals(c.getType()) ? "was denied: " : "failed: ") + c.getReason() + " " + c.getMessage();
            }
        }
        return null;
    }

    /** A certificate this agent signs for itself, for clusters whose API server does not verify kubelets (configured, never a fallback). */
    public static Material selfSigned(String nodeName, String address) {
        KeyPair keys = keyPair();
        try {
            X500Name subject = subject(nodeName);
            Instant now = Instant.now();
            JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, new BigInteger(63, new SecureRandom()),
                    Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(Duration.ofDays(365))), subject, keys.getPublic());
            b.addExtension(Extension.subjectAlternativeName, false, names(nodeName, address));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
            X509Certificate cert = new JcaX509CertificateConverter().getCertificate(b.build(signer(keys)));
            return new Material(keys.getPrivate(), List.of(cert));
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("could not make a self-signed kubelet certificate: " + e.getMessage(), e);
        }
    }

    /** The PKCS#10 request, PEM-encoded, as the CertificateSigningRequest carries it. */
    static String csrPem(KeyPair keys, String nodeName, String address) {
        try {
            ExtensionsGenerator ext = new ExtensionsGenerator();
            ext.addExtension(Extension.subjectAlternativeName, false, names(nodeName, address));
            byte[] der = new JcaPKCS10CertificationRequestBuilder(subject(nodeName), keys.getPublic())
                    .addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, ext.generate()).build(signer(keys)).getEncoded();
            StringWriter pem = new StringWriter();
            try (JcaPEMWriter w = new JcaPEMWriter(pem)) {
                w.writeObject(new PemObject("CERTIFICATE REQUEST", der));
            }
            return pem.toString();
        } catch (IOException e) {
            throw new IllegalStateException("could not write the kubelet certificate request: " + e.getMessage(), e);
        }
    }

    private static X500Name subject(String nodeName) {
        return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, "system:nodes").addRDN(BCStyle.CN, "system:node:" + nodeName).build();
    }

    private static GeneralNames names(String nodeName, String address) {
        boolean ip = address != null && address.matches("[0-9.]+|[0-9a-fA-F:]+");
        GeneralName host = new GeneralName(GeneralName.dNSName, nodeName);
        if (address == null || address.isBlank() || address.equals(nodeName)) {
            return new GeneralNames(host);
        }
        return new GeneralNames(new GeneralName[] {host, new GeneralName(ip ? GeneralName.iPAddress : GeneralName.dNSName, address)});
    }

    private static ContentSigner signer(KeyPair keys) {
        try {
            return new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate());
        } catch (OperatorCreationException e) {
            throw new IllegalStateException(e);
        }
    }

    private static KeyPair keyPair() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(256);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("no EC P-256 key generator in this JVM", e);
        }
    }

    static List<X509Certificate> parseChain(byte[] pem) {
        try {
            return CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem)).stream()
                    .map(c -> (X509Certificate) c).toList();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the issued kubelet certificate cannot be read: " + e.getMessage(), e);
        }
    }
}
