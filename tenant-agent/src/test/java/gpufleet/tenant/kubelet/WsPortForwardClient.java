package gpufleet.tenant.kubelet;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;

/**
 * Port-forward over WebSocket (v4.channel.k8s.io) to one port: channel 0 carries data, channel 1
 * errors; the first message on each is the port, which is checked and dropped.
 */
public final class WsPortForwardClient {
    public static final List<String> PROTOCOLS = List.of("v4.channel.k8s.io");

    /** The pod's bytes, the error channel's message ("" when none), and the port the server announced. */
    public record Result(byte[] data, String error, int announcedPort) {}

    private final SSLContext ssl;
    private final String token;
    private final Duration timeout;

    public WsPortForwardClient(SSLContext ssl, String token, Duration timeout) {
        this.ssl = ssl;
        this.token = token;
        this.timeout = timeout;
    }

    /**
     * Sends {@code data} to the port at {@code uri} (…/portForward/ns/pod?ports=N) and waits for
     * {@code expected} bytes back or for the server to close.
     */
    public Result exchange(URI uri, byte[] data, int expected) throws Exception {
        CompletableFuture<Void> enough = new CompletableFuture<>();
        try (WsClient ws = WsClient.open(ssl, token, uri, PROTOCOLS, timeout)) {
            // Messages may have arrived before the listener was set: it only looks at what was collected.
            ws.onMessage((channel, payload) -> {
                if (ws.received(0).length >= 2 + expected) {
                    enough.complete(null);
                }
            });
            if (data.length > 0) {
                ws.send(0, data);
            }
            CompletableFuture<Void> closed = CompletableFuture.runAsync(() -> {
                try {
                    ws.awaitClose(timeout);
                } catch (Exception e) {
                    // the timeout below reports it
                }
            });
            if (ws.received(0).length < 2 + expected) {
                CompletableFuture.anyOf(enough, closed).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            }
            byte[] all = ws.received(0);
            byte[] errors = ws.received(1);
            int port = all.length >= 2 ? (all[0] & 0xff) | (all[1] & 0xff) << 8 : -1;
            return new Result(Arrays.copyOfRange(all, Math.min(2, all.length), all.length),
                    errors.length > 2 ? new String(errors, 2, errors.length - 2, StandardCharsets.UTF_8) : "", port);
        }
    }
}
