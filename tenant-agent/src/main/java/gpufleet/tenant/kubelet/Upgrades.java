package gpufleet.tenant.kubelet;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import io.netty.handler.codec.spdy.SpdyFrameCodec;
import io.netty.handler.codec.spdy.SpdyVersion;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Turns an HTTP/1.1 connection into a SPDY/3.1 or WebSocket one for exec, attach and port-forward,
 * negotiating the sub-protocol as the kubelet does: the client's first offer the server speaks.
 */
final class Upgrades {
    static final String PROTOCOL_HEADER = "X-Stream-Protocol-Version";
    static final int MAX_WS_MESSAGE = 1 << 20;

    private Upgrades() {}

    static boolean isWebSocket(HttpHeaders headers) {
        return headers.containsValue(HttpHeaderNames.CONNECTION, "upgrade", true)
                && "websocket".equalsIgnoreCase(headers.get(HttpHeaderNames.UPGRADE));
    }

    static boolean isSpdy(HttpHeaders headers) {
        return "SPDY/3.1".equalsIgnoreCase(headers.get(HttpHeaderNames.UPGRADE));
    }

    /** The SPDY sub-protocol from X-Stream-Protocol-Version; a 403 naming both sides' lists when none fits. */
    static String spdyProtocol(HttpHeaders headers, List<String> supported) {
        return negotiate(offers(headers.getAll(PROTOCOL_HEADER)), supported, true);
    }

    /** The WebSocket sub-protocol from Sec-WebSocket-Protocol; "" when the client offered none (binary channels). */
    static String webSocketProtocol(HttpHeaders headers, List<String> supported) {
        List<String> offered = offers(headers.getAll(HttpHeaderNames.SEC_WEBSOCKET_PROTOCOL));
        return offered.isEmpty() ? "" : negotiate(offered, supported, false);
    }

    private static String negotiate(List<String> offered, List<String> supported, boolean spdy) {
        for (String o : offered) {
            if (supported.contains(o)) {
                return o;
            }
        }
        throw new KubeletException(spdy ? 403 : 400, "unable to upgrade: unable to negotiate protocol: client supports "
                + offered + ", server accepts " + supported);
    }

    private static List<String> offers(List<String> headerValues) {
        List<String> out = new ArrayList<>();
        for (String v : headerValues) {
            for (String p : v.split(",")) {
                if (!p.isBlank()) {
                    out.add(p.trim());
                }
            }
        }
        return out;
    }

    /** On the event loop: answers 101 and hands the connection to {@code handler}, which speaks SPDY frames. */
    static void toSpdy(ChannelHandlerContext ctx, String protocol, SpdyConnection handler) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.SWITCHING_PROTOCOLS, Unpooled.EMPTY_BUFFER);
        r.headers().set(HttpHeaderNames.CONNECTION, "Upgrade").set(HttpHeaderNames.UPGRADE, "SPDY/3.1").set(PROTOCOL_HEADER, protocol);
        ctx.writeAndFlush(r);
        ChannelPipeline p = ctx.pipeline();
        // The frame codec goes in before the HTTP codec leaves, so bytes it had buffered reach SPDY.
        p.addAfter(KubeletServer.HTTP, "spdy", new SpdyFrameCodec(SpdyVersion.SPDY_3_1));
        p.remove(KubeletServer.AGGREGATOR);
        p.replace(ctx.handler(), "spdy-streams", handler);
        p.remove(KubeletServer.HTTP);
        ctx.channel().config().setAutoRead(true);
    }

    /**
     * On the event loop: completes the WebSocket handshake with {@code protocol} ("" for none) and hands
     * the connection to {@code handler}; {@code ready} runs once the 101 went out.
     */
    static <H extends WsChannels> void toWebSocket(ChannelHandlerContext ctx, FullHttpRequest request, String protocol,
                                                   H handler, Consumer<H> ready) {
        String url = "wss://" + request.headers().get(HttpHeaderNames.HOST, "localhost") + request.uri();
        WebSocketServerHandshaker shaker = new WebSocketServerHandshakerFactory(url, protocol.isEmpty() ? null : protocol,
                false, MAX_WS_MESSAGE).newHandshaker(request);
        if (shaker == null) {
            WebSocketServerHandshakerFactory.sendUnsupportedVersionResponse(ctx.channel());
            return;
        }
        ChannelHandler self = ctx.handler();
        shaker.handshake(ctx.channel(), request).addListener(f -> {
            if (!f.isSuccess()) {
                ctx.close();
                return;
            }
            ChannelPipeline p = ctx.pipeline();
            p.replace(self, "ws-channels", handler);
            p.addBefore("ws-channels", "ws-aggregator", new WebSocketFrameAggregator(MAX_WS_MESSAGE));
            ctx.channel().config().setAutoRead(true);
            ready.accept(handler);
        });
    }
}
