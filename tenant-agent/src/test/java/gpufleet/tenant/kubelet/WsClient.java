package gpufleet.tenant.kubelet;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import javax.net.ssl.SSLContext;

/**
 * A WebSocket speaking Kubernetes' numbered channels (binary, or base64 text for the base64
 * protocols), on the JDK's client: collects what arrives on each channel until the server closes.
 */
public final class WsClient implements AutoCloseable {

    /** The server refused the upgrade. */
    public static final class Refused extends Exception {
        public final int status;

        Refused(int status) {
            super("upgrade refused with " + status);
            this.status = status;
        }
    }

    private final Map<Integer, ByteArrayOutputStream> channels = new ConcurrentHashMap<>();
    private final CompletableFuture<Integer> closed = new CompletableFuture<>();
    private final boolean base64;
    private final WebSocket socket;
    private volatile BiConsumer<Integer, byte[]> onMessage = (c, b) -> { };

    private WsClient(SSLContext ssl, String token, URI uri, List<String> protocols, Duration timeout) throws Exception {
        HttpClient http = HttpClient.newBuilder().sslContext(ssl).connectTimeout(timeout).build();
        WebSocket.Builder b = http.newWebSocketBuilder().connectTimeout(timeout);
        if (!protocols.isEmpty()) {
            b.subprotocols(protocols.get(0), protocols.subList(1, protocols.size()).toArray(String[]::new));
        }
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        URI ws = URI.create(uri.toString().replaceFirst("^https", "wss"));
        try {
            socket = b.buildAsync(ws, new Listener()).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof WebSocketHandshakeException h) {
                throw new Refused(h.getResponse().statusCode());
            }
            throw e;
        }
        base64 = socket.getSubprotocol().contains("base64.");
    }

    /** Opens a WebSocket to {@code uri} (https or wss) offering {@code protocols}; {@code token} may be null. */
    public static WsClient open(SSLContext ssl, String token, URI uri, List<String> protocols, Duration timeout) throws Exception {
        return new WsClient(ssl, token, uri, protocols, timeout);
    }

    public String protocol() {
        return socket.getSubprotocol();
    }

    /** Called with every message as it arrives (channel, payload without the channel byte). */
    public void onMessage(BiConsumer<Integer, byte[]> listener) {
        onMessage = listener;
    }

    public void send(int channel, byte[] data) throws Exception {
        if (base64) {
            socket.sendText((char) ('0' + channel) + Base64.getEncoder().encodeToString(data), true).get();
        } else {
            ByteBuffer buf = ByteBuffer.allocate(data.length + 1).put((byte) channel).put(data);
            socket.sendBinary(buf.flip(), true).get();
        }
    }

    /** Waits for the server to close; returns the close status code. */
    public int awaitClose(Duration timeout) throws Exception {
        return closed.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** All bytes received on {@code channel} so far. */
    public byte[] received(int channel) {
        ByteArrayOutputStream b = channels.get(channel);
        synchronized (this) {
            return b == null ? new byte[0] : b.toByteArray();
        }
    }

    public String receivedText(int channel) {
        return new String(received(channel), StandardCharsets.UTF_8);
    }

    private void deliver(byte[] message) {
        if (message.length == 0) {
            return;
        }
        int channel = message[0] & 0xff;
        byte[] payload = Arrays.copyOfRange(message, 1, message.length);
        synchronized (this) {
            channels.computeIfAbsent(channel, c -> new ByteArrayOutputStream()).write(payload, 0, payload.length);
        }
        onMessage.accept(channel, payload);
    }

    private final class Listener implements WebSocket.Listener {
        private final ByteArrayOutputStream binary = new ByteArrayOutputStream();
        private final StringBuilder text = new StringBuilder();

        @Override
        public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
            byte[] b = new byte[data.remaining()];
            data.get(b);
            binary.write(b, 0, b.length);
            if (last) {
                deliver(binary.toByteArray());
                binary.reset();
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            text.append(data);
            if (last) {
                String s = text.toString();
                text.setLength(0);
                byte[] body = Base64.getDecoder().decode(s.substring(1));
                byte[] message = new byte[body.length + 1];
                message[0] = (byte) (s.charAt(0) - '0');
                System.arraycopy(body, 0, message, 1, body.length);
                deliver(message);
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
            closed.complete(statusCode);
            return null;
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            closed.completeExceptionally(error);
        }
    }

    @Override
    public void close() {
        if (!socket.isOutputClosed()) {
            socket.sendClose(WebSocket.NORMAL_CLOSURE, "").orTimeout(1, TimeUnit.SECONDS).exceptionally(e -> null).join();
        }
        socket.abort();
    }
}
