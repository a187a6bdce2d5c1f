package gpufleet.control.stream;

import gpufleet.common.Json;
import gpufleet.common.stream.Frames;
import gpufleet.common.stream.StreamRequest;
import gpufleet.control.auth.Access;
import gpufleet.control.auth.Principal;
import gpufleet.control.http.ApiException;
import gpufleet.control.http.Params;
import gpufleet.control.quota.StreamQuota;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.javalin.websocket.WsBinaryMessageContext;
import io.javalin.websocket.WsConnectContext;
import io.javalin.websocket.WsContext;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import org.eclipse.jetty.websocket.api.Callback;

/**
 * exec, attach and port-forward between a tenant-agent's WebSocket and a host-agent's stream
 * connection. Each WebSocket message is one frame (channel byte, payload). Everything is checked
 * before the upgrade, so a refusal is a plain HTTP error; after it the first message down is
 * READY. Sends block until the peer took the data, and a message up is not read until the
 * host took the last: neither side can make this relay hold more than a frame or two.
 */
final class WsRelay {
    private static final String LINK = "gpufleet.stream.link";
    private static final String PERMIT = "gpufleet.stream.permit";
    private static final String OPENED_BY = "gpufleet.stream.principal";
    /** The refusal's message on a failed upgrade, URL-encoded. */
    static final String ERROR_HEADER = "X-Stream-Error";
    /** As long as the kubelet keeps an idle streaming connection. */
    private static final Duration IDLE = Duration.ofHours(4);
    private static final Set<String> EXEC_PARAMS = Set.of("container", "command", "stdin", "stdout", "stderr", "tty");

    private final HostStreams streams;
    private final Access access;
    private final StreamSessions sessions;
    private final StreamQuota quota;
    private final Map<String, Relayed> links = new ConcurrentHashMap<>();

    /** One relayed session: its host link, its entry in {@link StreamSessions}, and why it was ended, if it was. */
    private static final class Relayed {
        final HostLink link;
        volatile Object handle;
        volatile StreamQuota.Permit permit;
        volatile String endedBecause;

        Relayed(HostLink link) {
            this.link = link;
        }
    }

    WsRelay(HostStreams streams, Access access, StreamSessions sessions, StreamQuota quota) {
        this.streams = streams;
        this.access = access;
        this.sessions = sessions;
        this.quota = quota;
    }

    void install(RoutesConfig routes) {
        for (String op : List.of(StreamRequest.EXEC, StreamRequest.ATTACH, StreamRequest.PORT_FORWARD)) {
            String path = "/v1/tenants/{tenant}/workloads/{podUid}/" + op;
            routes.wsBeforeUpgrade(path, ctx -> {
                try {
                    open(ctx, op);
                } catch (ApiException e) {
                    // WebSocket clients often drop a refused handshake's body; the reason travels in a header too.
                    ctx.header(ERROR_HEADER, java.net.URLEncoder.encode(e.getMessage(), java.nio.charset.StandardCharsets.UTF_8));
                    throw e;
                }
            });
            routes.ws(path, ws -> {
                ws.onConnect(this::connected);
                ws.onBinaryMessage(this::up);
                ws.onClose(ctx -> closed(ctx));
                ws.onError(ctx -> closed(ctx));
            });
        }
    }

    /** Long-lived streams: the connection may be idle as long as a kubelet stream may. */
    static void keepOpen(Context ctx) {
        var request = org.eclipse.jetty.ee10.servlet.ServletContextRequest.getServletContextRequest(ctx.req());
        if (request != null) {
            request.getConnectionMetaData().getConnection().getEndPoint().setIdleTimeout(IDLE.toMillis());
        }
    }

    private void open(Context ctx, String op) {
        access.authenticate(ctx);
        String tenant = ctx.pathParam("tenant");
        ctx.attribute(OPENED_BY, Access.tenantOrOperator(ctx, tenant));
        StreamRequest req;
        if (op.equals(StreamRequest.PORT_FORWARD)) {
            Params.only(ctx, Set.of("port"));
            req = new StreamRequest(op, null, null, null, null, null, null, true, true, false, false, false, null, null, null,
                    false, false, null, port(ctx.queryParam("port")), null);
        } else {
            Params.only(ctx, EXEC_PARAMS);
            String container = ctx.queryParam("container");
            if (container == null || container.isBlank()) {
                throw ApiException.invalid("container", "container is required");
            }
            List<String> command = ctx.queryParams("command");
            if (op.equals(StreamRequest.EXEC) && command.isEmpty()) {
                throw ApiException.invalid("command", "exec needs a command (one command parameter per argument)");
            }
            boolean stdin = StreamRoutes.flag(ctx, "stdin");
            boolean stdout = StreamRoutes.flag(ctx, "stdout");
            boolean stderr = StreamRoutes.flag(ctx, "stderr");
            if (!stdin && !stdout && !stderr) {
                throw ApiException.invalid("stdin", "at least one of stdin, stdout or stderr must be true");
            }
            req = new StreamRequest(op, null, null, null, null, container, op.equals(StreamRequest.EXEC) ? command : null,
                    stdin, stdout, stderr, StreamRoutes.flag(ctx, "tty"), false, null, null, null, false, false,
                    null, null, null);
        }
        StreamQuota.Permit permit = quota.acquire(tenant); // the tenant's concurrent-stream quota, until the session ends
        try {
            HostStreams.Target t = streams.target(tenant, ctx.pathParam("podUid"));
            ctx.attribute(LINK, HostLink.open(t, req));
            ctx.attribute(PERMIT, permit);
        } catch (RuntimeException e) {
            permit.close();
            throw e;
        }
    }

    private static int port(String text) {
        try {
            int p = Integer.parseInt(String.valueOf(text));
            if (p >= 1 && p <= 65535) {
                return p;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw ApiException.invalid("port", "port must be a number in 1..65535; got '" + text + "'");
    }

    private void connected(WsConnectContext ctx) {
        HostLink link = ctx.attribute(LINK);
        if (link == null) {
            ctx.closeSession(1011, "no stream to relay");
            return;
        }
        Relayed r = new Relayed(link);
        r.permit = ctx.attribute(PERMIT);
        links.put(ctx.sessionId(), r);
        Principal by = ctx.attribute(OPENED_BY);
        r.handle = sessions.opened(by.tokenId(), ctx.pathParam("tenant"), why -> {
            r.endedBecause = why;
            link.close(); // The reading side sees the break and ends the session with this reason.
        });
        ctx.session.setIdleTimeout(IDLE);
        Thread down = new Thread(() -> down(ctx, r), "ws-relay-" + ctx.sessionId());
        down.setDaemon(true);
        down.start();
    }

    /** Host to client, READY first and END last. */
    private void down(WsContext ctx, Relayed r) {
        HostLink link = r.link;
        try {
            send(ctx, Frames.READY, new byte[0]);
            Frames.Frame f;
            do {
                f = link.next();
                if (f == null) {
                    throw new IOException("the host closed the stream without an outcome");
                }
                send(ctx, f.channel(), f.data());
            } while (f.channel() != Frames.END);
            ctx.closeSession(1000, "done");
        } catch (IOException e) {
            String ended = r.endedBecause;
            try {
                byte[] end = Json.mapper().writeValueAsBytes(ended != null ? Map.of("status", 403, "message", "stream ended: " + ended)
                        : Map.of("status", 503, "message", "stream broke: " + e.getMessage()));
                send(ctx, Frames.END, end);
            } catch (IOException | RuntimeException ignored) {
                // The client is gone too.
            }
            // 1008, policy violation: the caller may no longer hold this stream; the reason fits a close frame (123 bytes).
            ctx.closeSession(ended != null ? 1008 : 1011, ended != null ? "stream ended: " + ended : "stream broke");
        } finally {
            link.close();
            links.remove(ctx.sessionId());
            sessions.closed(r.handle);
            release(r);
        }
    }

    private static void send(WsContext ctx, int channel, byte[] data) throws IOException {
        ByteBuffer msg = ByteBuffer.allocate(1 + data.length);
        msg.put((byte) channel).put(data).flip();
        Callback.Completable done = new Callback.Completable();
        ctx.session.sendBinary(msg, done);
        try {
            done.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } catch (ExecutionException e) {
            throw new IOException(e.getCause().getMessage(), e.getCause());
        }
    }

    /** Client to host: stdin, its end, resizes. Blocks while the host does not read. */
    private void up(WsBinaryMessageContext ctx) {
        Relayed r = links.get(ctx.sessionId());
        ByteBuffer data = ctx.data();
        if (r == null || !data.hasRemaining()) {
            return;
        }
        HostLink link = r.link;
        int channel = data.get() & 0xff;
        if (channel != Frames.STDIN && channel != Frames.STDIN_EOF && channel != Frames.RESIZE) {
            return; // Only these go up; anything else is ignored as kubelets ignore unknown channels.
        }
        byte[] bytes = new byte[data.remaining()];
        data.get(bytes);
        try {
            link.send(channel, bytes, 0, bytes.length);
        } catch (IOException e) {
            link.close(); // The reading side sees the break and ends the session.
        }
    }

    private void closed(WsContext ctx) {
        Relayed r = links.remove(ctx.sessionId());
        if (r != null) {
            r.link.close();
            sessions.closed(r.handle);
            release(r);
        }
    }

    private static void release(Relayed r) {
        if (r.permit != null) {
            r.permit.close(); // idempotent: the reader's end and the socket's close may both get here
        }
    }
}
