package gpufleet.host.stream;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.Date;
import java.util.Set;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The stream server's TLS key pair and self-signed certificate, made once and kept in the state
 * directory beside the host's credential (the key readable by the agent's user only). The
 * control-api pins this exact certificate when the host first reports it, so no CA and no name
 * matter; the long validity is on purpose: the pin, not the dates, is the trust.
 */
public final class StreamIdentity {
    static final String KEY_FILE = "stream-tls.key";
    static final String CERT_FILE = "stream-tls.crt";
    private final PrivateKey key;
    private final X509Certificate certificate;

    private StreamIdentity(PrivateKey key, X509Certificate certificate) {
        this.key = key;
        this.certificate = certificate;
    }

    /** The identity kept in {@code stateDir}, made there on first use. */
    public static StreamIdentity loadOrCreate(Path stateDir, String hostName) {
        Path keyFile = stateDir.resolve(KEY_FILE);
        Path certFile = stateDir.resolve(CERT_FILE);
        try {
            if (Files.exists(keyFile) && Files.exists(certFile)) {
                return load(keyFile, certFile);
            }
            StreamIdentity made = create(hostName);
            Files.createDirectories(stateDir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            // The certificate last: a half-made pair (a crash between the writes) is made anew on the next start.
            writePrivately(keyFile, made.key.getEncoded());
            writePrivately(certFile, made.certificate.getEncoded());
            return made;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot keep the stream TLS key in " + stateDir + ": " + e.getMessage(), e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot read or make the stream TLS key in " + stateDir + " (delete "
                    + KEY_FILE + " and " + CERT_FILE + " to make new ones, then re-key the host): " + e.getMessage(), e);
        }
    }

    private static StreamIdentity load(Path keyFile, Path certFile) throws IOException, GeneralSecurityException {
        PrivateKey key = KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(Files.readAllBytes(keyFile)));
        X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(Files.readAllBytes(certFile)));
        return new StreamIdentity(key, cert);
    }

    /** A new P-256 key pair and a certificate for it, signed by itself. */
    static StreamIdentity create(String hostName) throws GeneralSecurityException {
        KeyPairGenerator gen = KeyPairGenerator.getInstance("EC");
        gen.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair pair = gen.generateKeyPair();
        X500Name name = new X500Name("CN=gpufleet stream server " + hostName.replaceAll("[^A-Za-z0-9.-]", "-"));
        Instant now = Instant.now();
        try {
            var holder = new JcaX509v3CertificateBuilder(name, new BigInteger(127, new SecureRandom()),
                    Date.from(now.minus(1, ChronoUnit.DAYS)), Date.from(now.plus(36500, ChronoUnit.DAYS)), name, pair.getPublic())
                    .build(new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate()));
            return new StreamIdentity(pair.getPrivate(), new JcaX509CertificateConverter().getCertificate(holder));
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException(e.getMessage(), e);
        }
    }

    private static void writePrivately(Path file, byte[] bytes) throws IOException {
        Path tmp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".tmp",
                PosixFilePermissions.asFileAttribute(Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE)));
        Files.write(tmp, bytes);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** What the agent reports for the control-api to pin: base64 of the certificate's DER bytes. */
    public String certificateBase64() {
        try {
            return Base64.getEncoder().encodeToString(certificate.getEncoded());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A TLS 1.3 server context that presents this certificate. */
    public SSLContext serverContext() {
        try {
            // The store lives in memory only; its password protects nothing and is thrown away.
            char[] none = Long.toHexString(new SecureRandom().nextLong()).toCharArray();
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry("stream", key, none, new X509Certificate[] {certificate});
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(store, none);
            SSLContext ctx = SSLContext.getInstance("TLSv1.3");
            ctx.init(kmf.getKeyManagers(), null, null);
            return ctx;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot make the stream server's TLS context: " + e.getMessage(), e);
        }
    }
}
