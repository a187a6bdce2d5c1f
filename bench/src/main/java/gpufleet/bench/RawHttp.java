package gpufleet.bench;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * A minimal HTTP/1.1 GET client for load: one connection at a time, kept alive while the server
 * allows it, reopened when it closes. TLS with a chosen SNI name to a chosen address, so a public
 * name can be measured on loopback without DNS (like {@code curl -k --resolve}); certificates are
 * not checked (the edge's local CA, as {@code -k}).
 */
final class RawHttp implements AutoCloseable {
    private final String address;
    private final int port;
    private final String host;
    private final boolean tls;
    private Socket socket;
    private InputStream in;
    private OutputStream out;

    RawHttp(String address, int port, String host, boolean tls) {
        this.address = address;
        this.port = port;
        this.host = host;
        this.tls = tls;
    }

    /** GET / and returns the status code, reading the whole body. */
    int get() throws IOException {
        if (socket == null) {
            open();
        }
        out.write(("GET / HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: gpufleet-bench\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        String status = line();
        if (status == null) {
            close();
            throw new IOException("connection closed before a response");
        }
        int code = Integer.parseInt(status.split(" ")[1]);
        long length = -1;
        boolean keep = true;
        for (String h = line(); h != null && !h.isEmpty(); h = line()) {
            String lower = h.toLowerCase(java.util.Locale.ROOT);
            if (lower.startsWith("content-length:")) {
                length = Long.parseLong(h.substring(15).trim());
            } else if (lower.startsWith("connection:") && lower.contains("close")) {
                keep = false;
            }
        }
        if (length >= 0) {
            in.readNBytes((int) length);
        } else {
            in.readAllBytes();
            keep = false;
        }
        if (!keep) {
            close();
        }
        return code;
    }

    private void open() throws IOException {
        Socket plain = new Socket();
        plain.setTcpNoDelay(true);
        plain.connect(new InetSocketAddress(address, port), 5000);
        if (tls) {
            SSLSocket s = (SSLSocket) insecure().getSocketFactory().createSocket(plain, host, port, true);
            SSLParameters p = s.getSSLParameters();
            p.setServerNames(List.of(new SNIHostName(host)));
            s.setSSLParameters(p);
            s.startHandshake();
            socket = s;
        } else {
            socket = plain;
        }
        in = new BufferedInputStream(socket.getInputStream());
        out = socket.getOutputStream();
    }

    private String line() throws IOException {
        StringBuilder b = new StringBuilder();
        for (int c = in.read(); c != -1; c = in.read()) {
            if (c == '\n') {
                int n = b.length();
                return n > 0 && b.charAt(n - 1) == '\r' ? b.substring(0, n - 1) : b.toString();
            }
            b.append((char) c);
        }
        return b.length() == 0 ? null : b.toString();
    }

    private static SSLContext insecure() {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, new TrustManager[] {new X509TrustManager() {
                @Override
                public void checkClientTrusted(java.security.cert.X509Certificate[] chain, String auth) {}

                @Override
                public void checkServerTrusted(java.security.cert.X509Certificate[] chain, String auth) {}

                @Override
                public java.security.cert.X509Certificate[] getAcceptedIssuers() {
                    return new java.security.cert.X509Certificate[0];
                }
            }}, null);
            return ctx;
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        try {
            if (socket != null) {
                socket.close();
            }
        } catch (IOException e) {
            // Closing anyway.
        }
        socket = null;
    }
}
