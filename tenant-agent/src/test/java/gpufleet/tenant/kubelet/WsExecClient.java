package gpufleet.tenant.kubelet;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLContext;

/**
 * Exec and attach over WebSocket as kubectl runs them (channels 0 stdin, 1 stdout, 2 stderr,
 * 3 error, 4 resize). With v5.channel.k8s.io stdin is closed after it was sent (channel 255).
 */
public final class WsExecClient {
    public static final List<String> PROTOCOLS = List.of("v5.channel.k8s.io", "v4.channel.k8s.io");

    private final SSLContext ssl;
    private final String token;
    private final Duration timeout;

    /** {@code token} may be null when the SSL context carries a client certificate. */
    public WsExecClient(SSLContext ssl, String token, Duration timeout) {
        this.ssl = ssl;
        this.token = token;
        this.timeout = timeout;
    }

    /** Runs the exec or attach at {@code uri} offering {@code protocols} (e.g. {@link #PROTOCOLS}). */
    public ExecResult run(URI uri, List<String> protocols, byte[] stdin, List<int[]> sizes) throws Exception {
        try (WsClient ws = WsClient.open(ssl, token, uri, protocols, timeout)) {
            for (int[] size : sizes == null ? List.<int[]>of() : sizes) {
                ws.send(4, ("{\"Width\":" + size[0] + ",\"Height\":" + size[1] + "}").getBytes(StandardCharsets.UTF_8));
            }
            if (stdin != null) {
                if (stdin.length > 0) {
                    ws.send(0, stdin);
                }
                if (ws.protocol().startsWith("v5.")) {
                    ws.send(255, new byte[] {0});
                }
            }
            ws.awaitClose(timeout);
            return ExecResult.of(ws.receivedText(1), ws.receivedText(2), ws.receivedText(3));
        }
    }
}
