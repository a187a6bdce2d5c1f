package gpufleet.host.workload;

import gpufleet.common.api.Probe;
import gpufleet.host.runtime.ContainerRuntime;
import gpufleet.host.runtime.ExecResult;
import gpufleet.host.runtime.RuntimeFailure;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * Runs one probe once, as the kubelet's prober does: exec in the container (exit 0 passes),
 * an HTTP(S) GET of the pod's own address (200..399 passes; certificates are not checked;
 * redirects are followed only to the same host, a redirect elsewhere ends the probe as a
 * warning, which passes), a TCP connect to the pod's address, a gRPC health check of it
 * ({@link GrpcProbe}). Never connects anywhere else: the
 * address is the pod sandbox's, and a probe has no host of its own.
 */
final class Prober {
    /** The kubelet keeps the head of a response body for its messages. */
    static final int MAX_BODY = 10 * 1024;
    private static final int MAX_REDIRECTS = 10;
    private static final SSLSocketFactory UNVERIFIED = unverified();

    enum Kind { SUCCESS, WARNING, FAILURE }

    /** A probe's result: whether it passed and what to say about it (the kubelet's words). */
    record Result(Kind kind, String output) {
        boolean passed() {
            return kind != Kind.FAILURE;
        }
    }

    private final ContainerRuntime runtime;

    Prober(ContainerRuntime runtime) {
        this.runtime = runtime;
    }

    /** {@code podAddress}: the sandbox's IP on the tenant's network (null when unknown: network probes fail). */
    Result run(Probe probe, String containerId, String podAddress) {
        Duration timeout = Duration.ofSeconds(probe.timeoutSeconds());
        Probe.Handler h = probe.handler();
        if (h.exec() != null) {
            return exec(containerId, h.exec(), timeout);
        }
        if (podAddress == null) {
            return new Result(Kind.FAILURE, "the pod has no address on its network yet");
        }
        if (h.httpGet() != null) {
            return http(h.httpGet(), podAddress, timeout);
        }
        if (h.tcpSocket() != null) {
            return tcp(podAddress, h.tcpSocket(), timeout);
        }
        return GrpcProbe.check(podAddress, h.grpc().port(), h.grpc().service(), timeout);
    }

    private Result exec(String containerId, List<String> command, Duration timeout) {
        try {
            ExecResult r = runtime.exec(containerId, command, timeout);
            if (r.timedOut()) {
                return new Result(Kind.FAILURE, "command \"" + String.join(" ", command) + "\" timed out");
            }
            return new Result(r.exitCode() == 0 ? Kind.SUCCESS : Kind.FAILURE, r.output());
        } catch (RuntimeFailure f) {
            return new Result(Kind.FAILURE, f.getMessage());
        }
    }

    static Result tcp(String address, int port, Duration timeout) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(address, port), (int) timeout.toMillis());
            return new Result(Kind.SUCCESS, "");
        } catch (SocketTimeoutException e) {
            return new Result(Kind.FAILURE, "dial tcp " + address + ":" + port + ": i/o timeout");
        } catch (IOException e) {
            return new Result(Kind.FAILURE, "dial tcp " + address + ":" + port + ": connect: " + lower(e));
        }
    }

    static Result http(Probe.HttpGet get, String address, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        String scheme = get.scheme().toLowerCase(Locale.ROOT);
        URI uri = URI.create(scheme + "://" + address + ":" + get.port() + get.path());
        String first = uri.getHost();
        for (int hop = 0; ; hop++) {
            HttpURLConnection conn = null;
            try {
                conn = open(uri, get, deadline);
                int status = conn.getResponseCode();
                String location = conn.getHeaderField("Location");
                if (status >= 300 && status < 400 && location != null && hop < MAX_REDIRECTS) {
                    URI next = uri.resolve(location);
                    // Only to the pod itself: a redirect to another host is the kubelet's warning, never a connection.
                    if (first.equalsIgnoreCase(next.getHost()) && ("http".equals(next.getScheme()) || "https".equals(next.getScheme()))) {
                        uri = next;
                        continue;
                    }
                }
                String body = body(conn);
                if (status >= 200 && status < 300) {
                    return new Result(Kind.SUCCESS, body);
                }
                if (status >= 300 && status < 400) {
                    return new Result(Kind.WARNING, "Probe terminated redirects, Response body: " + body);
                }
                return new Result(Kind.FAILURE, "HTTP probe failed with statuscode: " + status);
            } catch (SocketTimeoutException e) {
                return new Result(Kind.FAILURE, "Get \"" + uri + "\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)");
            } catch (ConnectException e) {
                return new Result(Kind.FAILURE, "Get \"" + uri + "\": dial tcp " + uri.getHost() + ":" + port(uri) + ": connect: " + lower(e));
            } catch (IOException | IllegalArgumentException e) {
                return new Result(Kind.FAILURE, "Get \"" + uri + "\": " + e.getMessage());
            } finally {
                if (conn != null) {
                    conn.disconnect();
                }
            }
        }
    }

    private static HttpURLConnection open(URI uri, Probe.HttpGet get, long deadline) throws IOException {
        int left = (int) Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
        URL url = uri.toURL();
        HttpURLConnection conn = (HttpURLConnection) url.openConnection(Proxy.NO_PROXY);
        if (conn instanceof HttpsURLConnection https) {
            https.setSSLSocketFactory(UNVERIFIED);
            https.setHostnameVerifier((host, session) -> true);
        }
        conn.setInstanceFollowRedirects(false);
        conn.setConnectTimeout(left);
        conn.setReadTimeout(left);
        conn.setRequestProperty("User-Agent", "kube-probe/1.29");
        conn.setRequestProperty("Accept", "*/*");
        for (Probe.Header h : get.headers()) {
            conn.setRequestProperty(h.name(), h.value());
        }
        return conn;
    }

    private static String body(HttpURLConnection conn) {
        try (InputStream in = conn.getResponseCode() >= 400 ? conn.getErrorStream() : conn.getInputStream()) {
            return in == null ? "" : new String(in.readNBytes(MAX_BODY), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    private static int port(URI uri) {
        return uri.getPort() > 0 ? uri.getPort() : "https".equals(uri.getScheme()) ? 443 : 80;
    }

    private static String lower(IOException e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return m.replaceFirst(" \\(.*\\)$", "").toLowerCase(Locale.ROOT);
    }

    /** Probes check that the pod answers, not who it is: the kubelet skips verification too. */
    private static SSLSocketFactory unverified() {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, new TrustManager[] {new X509TrustManager() {
                @Override
                public void checkClientTrusted(X509Certificate[] chain, String authType) { }

                @Override
                public void checkServerTrusted(X509Certificate[] chain, String authType) { }

                @Override
                public X509Certificate[] getAcceptedIssuers() {
                    return new X509Certificate[0];
                }
            }}, new SecureRandom());
            return ctx.getSocketFactory();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("no TLS on this JVM", e);
        }
    }
}
