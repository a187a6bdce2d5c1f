package gpufleet.control.stream;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * TLS to a host's stream server that trusts exactly one certificate: the one the host reported
 * and the control-api pinned at registration. No CA, no name check: a host is known by its
 * certificate, so a stand-in at the host's address with any other certificate is refused.
 */
final class PinnedTls {
    /** How long the handshake and the host's answer may take; streams themselves may idle for hours. */
    static final Duration HANDSHAKE = Duration.ofSeconds(15);
    private static final Map<String, SSLContext> CONTEXTS = new ConcurrentHashMap<>();

    private PinnedTls() {}

    /** A connected socket whose handshake proved the peer holds the pinned certificate's key. */
    static SSLSocket connect(String address, String pinnedCertificate, String hostName) throws IOException {
        int colon = address.lastIndexOf(':');
        String host = address.substring(0, colon).replace("[", "").replace("]", "");
        SSLSocket s = (SSLSocket) context(pinnedCertificate, hostName).getSocketFactory().createSocket();
        try {
            s.connect(new InetSocketAddress(host, Integer.parseInt(address.substring(colon + 1))), 5000);
            s.setTcpNoDelay(true);
            s.setSoTimeout((int) HANDSHAKE.toMillis());
            SSLParameters p = s.getSSLParameters();
            p.setProtocols(new String[] {"TLSv1.3"});
            s.setSSLParameters(p);
            s.startHandshake();
            return s;
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    private static SSLContext context(String pinned, String hostName) {
        return CONTEXTS.computeIfAbsent(hostName + "\n" + pinned, k -> {
            try {
                X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509")
                        .generateCertificate(new ByteArrayInputStream(Base64.getDecoder().decode(pinned)));
                SSLContext ctx = SSLContext.getInstance("TLSv1.3");
                ctx.init(null, new TrustManager[] {new OnlyThis(cert, hostName)}, null);
                return ctx;
            } catch (GeneralSecurityException | IllegalArgumentException e) {
                throw new IllegalStateException("the stream certificate pinned for host " + hostName + " cannot be read: "
                        + e.getMessage(), e);
            }
        });
    }

    /** Trusts a server whose leaf certificate is byte for byte the pinned one; trusts no client. */
    private record OnlyThis(X509Certificate pinned, String hostName) implements X509TrustManager {
        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            if (chain == null || chain.length == 0 || !MessageDigest.isEqual(chain[0].getEncoded(), pinned.getEncoded())) {
                throw new CertificateException("the stream server's certificate is not the one pinned for host " + hostName);
            }
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("no client is trusted here");
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
