package gpufleet.tenant.kubelet;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A cluster CA for tests: it issues the kubelet's serving certificate, the API server's client
 * certificate, and SSL contexts for clients that trust it (with or without a client certificate).
 */
public final class TestPki {
    private final KeyPair caKeys;
    private final X509Certificate ca;

    public TestPki() {
        caKeys = keyPair();
        ca = sign(new X500Name("CN=test-cluster-ca"), caKeys.getPublic(), true, null, null);
    }

    public X509Certificate ca() {
        return ca;
    }

    /** A serving key and certificate for 127.0.0.1 and localhost, as the kubelet's. */
    public KubeletServer.Tls servingTls() {
        KeyPair keys = keyPair();
        X509Certificate cert = sign(new X500Name("O=system:nodes,CN=system:node:k8s.gpu"), keys.getPublic(), false,
                KeyPurposeId.id_kp_serverAuth, new GeneralNames(new GeneralName[] {
                        new GeneralName(GeneralName.iPAddress, "127.0.0.1"), new GeneralName(GeneralName.dNSName, "localhost")}));
        return new KubeletServer.Tls(keys.getPrivate(), List.of(cert), List.of(ca));
    }

    /** A client that presents a certificate for {@code user} in {@code group} (the API server's kubelet client is such). */
    public SSLContext client(String user, String group) {
        KeyPair keys = keyPair();
        X509Certificate cert = sign(new X500Name("O=" + group + ",CN=" + user), keys.getPublic(), false,
                KeyPurposeId.id_kp_clientAuth, null);
        return context(keys.getPrivate(), cert);
    }

    /** A client without a certificate (it must bring a bearer token). */
    public SSLContext anonymous() {
        return context(null, null);
    }

    /** Signs {@code subject}'s public key as a serving certificate (what the kubelet-serving signer does for a CSR). */
    public X509Certificate signServing(X500Name subject, PublicKey key, GeneralNames sans) {
        return sign(subject, key, false, KeyPurposeId.id_kp_serverAuth, sans);
    }

    private SSLContext context(PrivateKey key, X509Certificate cert) {
        try {
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry("ca", ca);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            KeyManagerFactory kmf = null;
            if (key != null) {
                KeyStore keys = KeyStore.getInstance("PKCS12");
                keys.load(null, null);
                keys.setKeyEntry("client", key, new char[0], new X509Certificate[] {cert, ca});
                kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(keys, new char[0]);
            }
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), new SecureRandom());
            return ctx;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private X509Certificate sign(X500Name subject, PublicKey key, boolean isCa, KeyPurposeId purpose, GeneralNames sans) {
        try {
            Instant now = Instant.now();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(isCa ? subject : new X500Name("CN=test-cluster-ca"),
                    BigInteger.valueOf(new SecureRandom().nextLong() & Long.MAX_VALUE), Date.from(now.minus(Duration.ofMinutes(5))),
                    Date.from(now.plus(Duration.ofDays(1))), subject, key);
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(isCa));
            if (purpose != null) {
                b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose));
            }
            if (sans != null) {
                b.addExtension(Extension.subjectAlternativeName, false, sans);
            }
            return new JcaX509CertificateConverter().getCertificate(
                    b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(caKeys.getPrivate())));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static KeyPair keyPair() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(256);
            return g.generateKeyPair();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
