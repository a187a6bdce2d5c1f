package gpufleet.tenant.kubelet;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.spdy.DefaultSpdyDataFrame;
import io.netty.handler.codec.spdy.SpdyHeaders;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;

/**
 * Port-forward over SPDY (portforward.k8s.io): for every connection the client opens an error and a
 * data stream carrying the same {@code requestid} and {@code port}; the data stream is the
 * connection, the error stream carries a failure's message.
 */
final class SpdyPortForward extends SpdyConnection {
    static final List<String> PROTOCOLS = List.of("portforward.k8s.io");

    private final class Pair implements PortTunnel.Output {
        volatile int errorId;
        volatile int dataId;
        PortTunnel tunnel;

        @Override
        public void data(byte[] data, int offset, int length) throws IOException {
            send(dataId, data, offset, length);
        }

        @Override
        public void end(String failure) {
            ctx.executor().execute(() -> {
                if (failure != null && errorId != 0) {
                    ctx.writeAndFlush(new DefaultSpdyDataFrame(errorId, Unpooled.copiedBuffer(Statuses.utf8(failure))));
                }
                if (errorId != 0) {
                    endStream(errorId);
                }
                endStream(dataId);
            });
        }
    }

    private final KubeletBackend backend;
    private final Executor pool;
    private final KubeletBackend.PodRef pod;
    private final Map<String, Pair> byRequest = new HashMap<>();
    private final Map<Integer, Pair> byData = new HashMap<>();

    SpdyPortForward(KubeletBackend backend, Executor pool, KubeletBackend.PodRef pod) {
        this.backend = backend;
        this.pool = pool;
        this.pod = pod;
    }

    @Override
    protected void opened(int id, SpdyHeaders headers, boolean last) {
        String type = headers.getAsString("streamtype");
        String request = headers.getAsString("requestid");
        if (request == null || request.isEmpty()) {
            // Clients before requestID paired an error stream with the data stream opened right after it.
            request = Integer.toString("data".equals(type) ? id - 2 : id);
        }
        Pair pair = byRequest.computeIfAbsent(request, r -> new Pair());
        if ("error".equals(type)) {
            pair.errorId = id;
        } else if ("data".equals(type)) {
            pair.dataId = id;
            byData.put(id, pair);
            int port = port(headers.getAsString("port"));
            if (port == 0) {
                pair.end("invalid port \"" + headers.getAsString("port") + "\": it must be a number between 1 and 65535");
                return;
            }
            pair.tunnel = new PortTunnel(backend, pod, port, pair, new InputPump(pool, ctx.channel()));
            pair.tunnel.open();
            if (last) {
                pair.tunnel.closeWrite();
            }
        }
    }

    private static int port(String value) {
        try {
            int p = Integer.parseInt(value == null ? "" : value.trim());
            return p >= 1 && p <= 65535 ? p : 0;
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    @Override
    protected void data(int id, ByteBuf content, boolean last) {
        Pair pair = byData.get(id);
        if (pair == null || pair.tunnel == null) {
            return;
        }
        if (content.isReadable()) {
            pair.tunnel.send(content);
        }
        if (last) {
            pair.tunnel.closeWrite();
        }
    }

    @Override
    protected void reset(int id) {
        Pair pair = byData.get(id);
        if (pair != null && pair.tunnel != null) {
            pair.tunnel.close();
        }
    }

    @Override
    protected void closed() {
        for (Pair pair : byData.values()) {
            if (pair.tunnel != null) {
                pair.tunnel.close();
            }
        }
    }
}
