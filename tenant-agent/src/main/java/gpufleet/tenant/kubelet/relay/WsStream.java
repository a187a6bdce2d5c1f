package gpufleet.tenant.kubelet.relay;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.common.Json;
import gpufleet.common.stream.Frames;
import gpufleet.tenant.kubelet.KubeletBackend;
import gpufleet.tenant.kubelet.KubeletException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One exec, attach or port-forward over a WebSocket to the control-api: one frame per message.
 * Frames down are handed to the sink one at a time and the next is requested only after the
 * sink returned, so a slow kubectl slows the container instead of filling memory here.
 */
final class WsStream implements KubeletBackend.StreamSession, WebSocket.Listener {
    private final KubeletBackend.StreamSink sink;
    private final CompletableFuture<Void> ready = new CompletableFuture<>();
    private final AtomicBoolean ended = new AtomicBoolean();
    private final ByteArrayOutputStream partial = new ByteArrayOutputStream();
    private volatile WebSocket ws;

    private WsStream(KubeletBackend.StreamSink sink) {
        this.sink = sink;
    }

    /** Opens the stream; returns once the host accepted it, else throws what the control-api answered. */
    static WsStream open(HttpClient http, URI uri, String token, KubeletBackend.StreamSink sink) throws IOException {
        WsStream s = new WsStream(sink);
        try {
            s.ws = http.newWebSocketBuilder().header("Authorization", "Bearer " + token)
                    .buildAsync(uri, s).get(30, TimeUnit.SECONDS);
            s.ready.get(30, TimeUnit.SECONDS);
            return s;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof WebSocketHandshakeException h) {
                // The control-api names the reason in a header: the JDK drops a refused handshake's body.
                String reason = h.getResponse().headers().firstValue("X-Stream-Error")
                        .map(v -> java.net.URLDecoder.decode(v, java.nio.charset.StandardCharsets.UTF_8))
                        .orElse("the control-api refused the stream (HTTP " + h.getResponse().statusCode() + ")");
                throw new KubeletException(h.getResponse().statusCode(), reason);
            }
            if (e.getCause() instanceof KubeletException k) {
                throw k;
            }
            throw new IOException("cannot open the stream through the control-api: " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            s.close();
            throw new IOException("the control-api did not open the stream within 30 s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    @Override
    public void onOpen(WebSocket webSocket) {
        webSocket.request(1);
    }

    @Override
    public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
        byte[] chunk = new byte[data.remaining()];
        data.get(chunk);
        partial.write(chunk, 0, chunk.length);
        if (last) {
            byte[] frame = partial.toByteArray();
            partial.reset();
            deliver(frame);
        }
        if (!ended.get()) {
            webSocket.request(1);
        }
        return null;
    }

    private void deliver(byte[] frame) {
        if (frame.length == 0 || ended.get()) {
            return;
        }
        int channel = frame[0] & 0xff;
        try {
            switch (channel) {
                case Frames.READY -> ready.complete(null);
                case Frames.STDOUT -> sink.stdout(frame, 1, frame.length - 1);
                case Frames.STDERR -> sink.stderr(frame, 1, frame.length - 1);
                case Frames.END -> {
                    JsonNode end = Json.mapper().readTree(frame, 1, frame.length - 1);
                    if (end.has("message")) {
                        KubeletException failure = new KubeletException(end.path("status").asInt(500), end.path("message").asText());
                        if (!ready.completeExceptionally(failure)) {
                            finish(null, failure.getMessage());
                        }
                        ended.set(true);
                    } else {
                        finish(end.has("exitCode") ? end.get("exitCode").asInt() : 0, null);
                    }
                }
                default -> { }
            }
        } catch (IOException e) {
            // The client side is gone: stop the stream.
            finish(null, "client went away: " + e.getMessage());
            close();
        }
    }

    private void finish(Integer exitCode, String failure) {
        if (ended.compareAndSet(false, true)) {
            sink.closed(exitCode, failure);
        }
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
        ready.completeExceptionally(new IOException("the control-api closed the stream: " + statusCode + " " + reason));
        finish(null, "the stream closed before it ended (" + statusCode + " " + reason + ")");
        return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
        ready.completeExceptionally(error);
        finish(null, "the stream broke: " + error.getMessage());
    }

    @Override
    public void stdin(byte[] data, int offset, int length) throws IOException {
        while (length > 0) {
            int n = Math.min(length, Frames.MAX_PAYLOAD);
            send(Frames.STDIN, data, offset, n);
            offset += n;
            length -= n;
        }
    }

    @Override
    public void closeStdin() throws IOException {
        send(Frames.STDIN_EOF, new byte[0], 0, 0);
    }

    @Override
    public void resize(int width, int height) throws IOException {
        byte[] json = Json.mapper().writeValueAsBytes(Map.of("width", width, "height", height));
        send(Frames.RESIZE, json, 0, json.length);
    }

    private synchronized void send(int channel, byte[] data, int offset, int length) throws IOException {
        ByteBuffer msg = ByteBuffer.allocate(1 + length);
        msg.put((byte) channel).put(data, offset, length).flip();
        try {
            ws.sendBinary(msg, true).get();
        } catch (ExecutionException e) {
            throw new IOException("stream to the control-api broke: " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    @Override
    public void close() {
        ended.set(true);
        WebSocket w = ws;
        if (w != null) {
            w.abort();
        }
    }
}
