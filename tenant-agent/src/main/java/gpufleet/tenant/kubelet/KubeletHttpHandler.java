package gpufleet.tenant.kubelet;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.ssl.SslHandler;
import java.io.IOException;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLPeerUnverifiedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Routes the kubelet API's requests. The event loop only reads the request; authentication,
 * authorization, the pod lookup and every backend call run on the shared pool, and the connection
 * reads nothing more until the answer is complete (or the connection was upgraded).
 */
final class KubeletHttpHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final Logger log = LoggerFactory.getLogger(KubeletHttpHandler.class);

    private final KubeletServer.Parts parts;

    KubeletHttpHandler(KubeletServer.Parts parts) {
        this.parts = parts;
    }

    private record Call(ChannelHandlerContext ctx, FullHttpRequest request, String method, String path,
                        List<String> segments, Map<String, List<String>> query) {}

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        ctx.channel().config().setAutoRead(false);
        QueryStringDecoder q = new QueryStringDecoder(req.uri());
        // Only the head travels on: exec and port-forward requests carry no body.
        FullHttpRequest head = new DefaultFullHttpRequest(req.protocolVersion(), req.method(), req.uri(), Unpooled.EMPTY_BUFFER,
                req.headers().copy(), EmptyHttpHeaders.INSTANCE);
        List<String> segments = Arrays.stream(q.path().split("/")).filter(s -> !s.isEmpty()).toList();
        Call call = new Call(ctx, head, req.method().name(), q.path(), segments, q.parameters());
        X509Certificate peer = peerCertificate(ctx);
        parts.pool().execute(() -> {
            try {
                serve(call, peer);
            } catch (IOException | RuntimeException e) {
                reply(ctx, Statuses.response(Statuses.code(e), Statuses.message(e)));
            }
        });
    }

    private void serve(Call call, X509Certificate peer) throws IOException {
        if (call.path().equals("/healthz")) {
            // Open, as a probe needs it; it says nothing about pods.
            reply(call.ctx(), text(HttpResponseStatus.OK, "ok"));
            return;
        }
        KubeletAuth.User user = parts.auth().authenticate(peer, call.request().headers().get(HttpHeaderNames.AUTHORIZATION));
        if (user == null) {
            reply(call.ctx(), Statuses.response(401, "Unauthorized"));
            return;
        }
        String denial = parts.auth().authorize(user, KubeletAuth.attributes(call.method(), call.path()));
        if (denial != null) {
            reply(call.ctx(), Statuses.response(403, denial));
            return;
        }
        route(call);
    }

    /** The endpoint a path names, or null. */
    private enum Endpoint {
        LOGS(false), EXEC(true), ATTACH(true), PORT_FORWARD(true), STATS_SUMMARY(false), METRICS_RESOURCE(false), PODS(false);

        final boolean postToo;

        Endpoint(boolean postToo) {
            this.postToo = postToo;
        }

        static Endpoint of(String path, List<String> s) {
            String first = s.isEmpty() ? "" : s.get(0);
            return switch (first) {
                case "containerLogs" -> s.size() == 4 ? LOGS : null;
                case "exec" -> s.size() == 4 ? EXEC : null;
                case "attach" -> s.size() == 4 ? ATTACH : null;
                case "portForward" -> s.size() == 3 ? PORT_FORWARD : null;
                case "stats" -> path.equals("/stats/summary") ? STATS_SUMMARY : null;
                case "metrics" -> path.equals("/metrics/resource") ? METRICS_RESOURCE : null;
                case "pods" -> s.size() == 1 ? PODS : null;
                default -> null;
            };
        }
    }

    private void route(Call call) throws IOException {
        List<String> s = call.segments();
        Endpoint endpoint = Endpoint.of(call.path(), s);
        if (endpoint == null) {
            reply(call.ctx(), Statuses.response(404, "the server could not find the requested resource (" + call.path() + ")"));
            return;
        }
        if (!call.method().equals("GET") && !(endpoint.postToo && call.method().equals("POST"))) {
            reply(call.ctx(), Statuses.response(405, "the server does not allow " + call.method() + " on " + call.path()));
            return;
        }
        switch (endpoint) {
            case LOGS -> logs(call, parts.pods().resolve(s.get(1), s.get(2), s.get(3)), s.get(3));
            case EXEC, ATTACH -> remoteCommand(call, endpoint == Endpoint.EXEC);
            case PORT_FORWARD -> portForward(call, parts.pods().resolve(s.get(1), s.get(2)));
            case STATS_SUMMARY -> reply(call.ctx(), json(Statuses.bytes(
                    StatsSummary.render(parts.nodeName(), parts.startedAt(), parts.backend().stats()))));
            case METRICS_RESOURCE -> {
                FullHttpResponse r = text(HttpResponseStatus.OK, ResourceMetrics.render(parts.backend()));
                r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
                reply(call.ctx(), r);
            }
            case PODS -> reply(call.ctx(), json(Statuses.utf8(parts.pods().toJson(parts.pods().list()))));
        }
    }

    private void logs(Call call, KubeletBackend.PodRef pod, String container) {
        KubeletBackend.LogOptions options = ContainerLogs.options(call.query());
        ContainerLogs.Body body = new ContainerLogs.Body(ChannelWriter.of(call.ctx().channel()));
        try {
            parts.backend().logs(pod, container, options, body);
            body.end();
            call.ctx().channel().config().setAutoRead(true);
        } catch (IOException | RuntimeException e) {
            if (body.started()) {
                // Part of the log went out: closing without the last chunk tells the client it is incomplete.
                log.debug("log stream of {}/{} ended early: {}", pod.namespace(), pod.name(), e.toString());
                call.ctx().close();
            } else {
                reply(call.ctx(), Statuses.response(Statuses.code(e), Statuses.message(e)));
            }
        }
    }

    private void remoteCommand(Call call, boolean exec) {
        List<String> s = call.segments();
        KubeletBackend.StreamOptions options = RemoteCommand.options(call.query());
        List<String> command = call.query().getOrDefault("command", List.of());
        if (exec && command.isEmpty()) {
            throw new KubeletException(400, "you must specify at least one command for the container");
        }
        boolean ws = Upgrades.isWebSocket(call.request().headers());
        if (!ws && !Upgrades.isSpdy(call.request().headers())) {
            throw new KubeletException(400, "Upgrade request required: use SPDY/3.1 or a WebSocket");
        }
        String protocol = ws ? Upgrades.webSocketProtocol(call.request().headers(), WsExec.PROTOCOLS)
                : Upgrades.spdyProtocol(call.request().headers(), SpdyExec.PROTOCOLS);
        RemoteCommand.Target target = new RemoteCommand.Target(parts.pods().resolve(s.get(1), s.get(2), s.get(3)), s.get(3),
                exec ? List.copyOf(command) : null, options);
        ChannelHandlerContext ctx = call.ctx();
        ctx.executor().execute(() -> {
            if (ws) {
                Upgrades.toWebSocket(ctx, call.request(), protocol,
                        new WsExec(parts.backend(), parts.pool(), ctx.channel(), target, protocol), WsExec::begin);
            } else {
                Upgrades.toSpdy(ctx, protocol, new SpdyExec(parts.backend(), parts.pool(), target, protocol));
            }
        });
    }

    private void portForward(Call call, KubeletBackend.PodRef pod) {
        ChannelHandlerContext ctx = call.ctx();
        if (Upgrades.isWebSocket(call.request().headers())) {
            String protocol = Upgrades.webSocketProtocol(call.request().headers(), WsPortForward.PROTOCOLS);
            List<Integer> ports = WsPortForward.ports(call.query());
            ctx.executor().execute(() -> Upgrades.toWebSocket(ctx, call.request(), protocol,
                    new WsPortForward(parts.backend(), parts.pool(), ctx.channel(), pod, ports, protocol), WsPortForward::begin));
        } else if (Upgrades.isSpdy(call.request().headers())) {
            String protocol = Upgrades.spdyProtocol(call.request().headers(), SpdyPortForward.PROTOCOLS);
            ctx.executor().execute(() -> Upgrades.toSpdy(ctx, protocol, new SpdyPortForward(parts.backend(), parts.pool(), pod)));
        } else {
            throw new KubeletException(400, "Upgrade request required: use SPDY/3.1 or a WebSocket");
        }
    }

    private static X509Certificate peerCertificate(ChannelHandlerContext ctx) {
        SslHandler ssl = ctx.pipeline().get(SslHandler.class);
        if (ssl == null) {
            return null;
        }
        try {
            Certificate[] chain = ssl.engine().getSession().getPeerCertificates();
            return chain.length > 0 && chain[0] instanceof X509Certificate x ? x : null;
        } catch (SSLPeerUnverifiedException e) {
            return null;
        }
    }

    private static FullHttpResponse text(HttpResponseStatus status, String body) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.copiedBuffer(Statuses.utf8(body)));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        return r;
    }

    private static FullHttpResponse json(byte[] body) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, Unpooled.wrappedBuffer(body));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
        return r;
    }

    /** Sends a whole response and reads the next request (errors close the connection). */
    private static void reply(ChannelHandlerContext ctx, FullHttpResponse response) {
        HttpUtil.setContentLength(response, response.content().readableBytes());
        boolean keep = response.status().code() < 400;
        ctx.writeAndFlush(response).addListener(keep ? (ChannelFutureListener) f -> f.channel().config().setAutoRead(true)
                : ChannelFutureListener.CLOSE);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("kubelet API connection failed: {}", cause.toString());
        ctx.close();
    }
}
