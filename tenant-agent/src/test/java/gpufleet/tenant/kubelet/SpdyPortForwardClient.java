package gpufleet.tenant.kubelet;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;

/**
 * Port-forward over SPDY (portforward.k8s.io) as the API server runs it against a kubelet: per
 * connection an error and a data stream with the same requestid and port.
 */
public final class SpdyPortForwardClient {

    /** What came back on one forwarded connection: the pod's bytes and the error stream's message ("" when none). */
    public record Result(byte[] data, String error) {}

    private final SSLContext ssl;
    private final String token;
    private final Duration timeout;

    /** {@code token} may be null when the SSL context carries a client certificate. */
    public SpdyPortForwardClient(SSLContext ssl, String token, Duration timeout) {
        this.ssl = ssl;
        this.token = token;
        this.timeout = timeout;
    }

    /** Opens a connection to {@code port} in the pod at {@code uri} (…/portForward/ns/pod), sends {@code data}, half-closes, reads to the end. */
    public Result exchange(URI uri, int port, byte[] data) throws Exception {
        try (SpdyClientConnection c = SpdyClientConnection.open(uri, ssl, token, List.of("portforward.k8s.io"), "POST", timeout)) {
            return exchange(c, port, data, "0");
        }
    }

    /** One forwarded connection over an open SPDY connection (several may share one, each with its own requestId). */
    public Result exchange(SpdyClientConnection c, int port, byte[] data, String requestId) throws Exception {
        String p = Integer.toString(port);
        int error = c.openStream(Map.of("streamtype", "error", "port", p, "requestid", requestId), timeout);
        int stream = c.openStream(Map.of("streamtype", "data", "port", p, "requestid", requestId), timeout);
        if (data.length > 0) {
            c.write(stream, data);
        }
        c.finish(stream);
        byte[] back = c.awaitEnd(stream, timeout);
        return new Result(back, new String(c.awaitEnd(error, timeout), StandardCharsets.UTF_8));
    }

    public SpdyClientConnection connect(URI uri) throws Exception {
        return SpdyClientConnection.open(uri, ssl, token, List.of("portforward.k8s.io"), "POST", timeout);
    }
}
