package gpufleet.tenant.kubelet;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;

/**
 * Exec and attach over SPDY/3.1 as the API server runs them against a kubelet (remotecommand v4):
 * opens the error stream first, then the streams the URI's stdin/stdout/stderr/tty flags ask for,
 * sends stdin (then closes it) and terminal sizes, and collects everything until the server ends.
 */
public final class SpdyExecClient {
    public static final List<String> PROTOCOLS = List.of("v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io");

    private final SSLContext ssl;
    private final String token;
    private final Duration timeout;

    /** {@code token} may be null when the SSL context carries a client certificate. */
    public SpdyExecClient(SSLContext ssl, String token, Duration timeout) {
        this.ssl = ssl;
        this.token = token;
        this.timeout = timeout;
    }

    /** Runs the exec or attach at {@code uri} (…/exec/ns/pod/container?command=…&stdout=1…). */
    public ExecResult run(URI uri, byte[] stdin, List<int[]> sizes) throws Exception {
        return run(uri, PROTOCOLS, stdin, sizes);
    }

    /** Like {@link #run(URI, byte[], List)}, offering only {@code protocols} (e.g. v3, whose error stream is plain text). */
    public ExecResult run(URI uri, List<String> protocols, byte[] stdin, List<int[]> sizes) throws Exception {
        String query = uri.getRawQuery() == null ? "" : "&" + uri.getRawQuery() + "&";
        boolean wantStdin = query.contains("&stdin=1&") || query.contains("&stdin=true&");
        boolean tty = query.contains("&tty=1&") || query.contains("&tty=true&");
        try (SpdyClientConnection c = SpdyClientConnection.open(uri, ssl, token, protocols, "POST", timeout)) {
            int error = c.openStream(Map.of("streamtype", "error"), timeout);
            int in = wantStdin ? c.openStream(Map.of("streamtype", "stdin"), timeout) : 0;
            int out = query.contains("&stdout=1&") || query.contains("&stdout=true&") ? c.openStream(Map.of("streamtype", "stdout"), timeout) : 0;
            int err = !tty && (query.contains("&stderr=1&") || query.contains("&stderr=true&"))
                    ? c.openStream(Map.of("streamtype", "stderr"), timeout) : 0;
            int resize = tty ? c.openStream(Map.of("streamtype", "resize"), timeout) : 0;
            for (int[] size : sizes == null ? new ArrayList<int[]>() : sizes) {
                c.write(resize, ("{\"Width\":" + size[0] + ",\"Height\":" + size[1] + "}").getBytes(StandardCharsets.UTF_8));
            }
            if (in != 0) {
                if (stdin != null && stdin.length > 0) {
                    c.write(in, stdin);
                }
                c.finish(in);
            }
            String stdout = out == 0 ? "" : new String(c.awaitEnd(out, timeout), StandardCharsets.UTF_8);
            String stderr = err == 0 ? "" : new String(c.awaitEnd(err, timeout), StandardCharsets.UTF_8);
            String status = new String(c.awaitEnd(error, timeout), StandardCharsets.UTF_8);
            return ExecResult.of(stdout, stderr, status);
        }
    }
}
