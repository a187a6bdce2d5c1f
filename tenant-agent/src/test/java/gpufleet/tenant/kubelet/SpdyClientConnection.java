package gpufleet.tenant.kubelet;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.spdy.DefaultSpdyDataFrame;
import io.netty.handler.codec.spdy.DefaultSpdySynStreamFrame;
import io.netty.handler.codec.spdy.SpdyDataFrame;
import io.netty.handler.codec.spdy.SpdyFrame;
import io.netty.handler.codec.spdy.SpdyFrameCodec;
import io.netty.handler.codec.spdy.SpdyRstStreamFrame;
import io.netty.handler.codec.spdy.SpdySynReplyFrame;
import io.netty.handler.codec.spdy.SpdyVersion;
import io.netty.handler.ssl.SslHandler;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;

/**
 * The client side of a Kubernetes SPDY/3.1 connection, as the API server opens one to a kubelet:
 * an HTTP/1.1 upgrade offering sub-protocols, then streams the client opens with headers. Each
 * stream's received bytes are collected until the server ends it.
 */
public final class SpdyClientConnection implements AutoCloseable {

    /** The server refused the upgrade: its status and body (a Status document). */
    public static final class Refused extends Exception {
        public final int status;
        public final String body;

        Refused(int status, String body) {
            super("upgrade refused with " + status + ": " + body);
            this.status = status;
            this.body = body;
        }
    }

    private static final class Received {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final CompletableFuture<Void> replied = new CompletableFuture<>();
        final CompletableFuture<byte[]> ended = new CompletableFuture<>();
    }

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Map<Integer, Received> streams = new ConcurrentHashMap<>();
    private final CompletableFuture<FullHttpResponse> upgraded = new CompletableFuture<>();
    private Channel channel;
    private String protocol;
    private int nextId = 1;

    private SpdyClientConnection() {}

    /** Connects to {@code uri} (https) and upgrades; {@code token} may be null (then the SSL context's certificate names the caller). */
    public static SpdyClientConnection open(URI uri, SSLContext ssl, String token, List<String> protocols, String method, Duration timeout)
            throws Exception {
        SpdyClientConnection c = new SpdyClientConnection();
        try {
            c.connect(uri, ssl, token, protocols, method, timeout);
            return c;
        } catch (Exception e) {
            c.close();
            throw e;
        }
    }

    private void connect(URI uri, SSLContext ssl, String token, List<String> protocols, String method, Duration timeout) throws Exception {
        channel = new Bootstrap().group(group).channel(NioSocketChannel.class).handler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
                SSLEngine engine = ssl.createSSLEngine(uri.getHost(), uri.getPort());
                engine.setUseClientMode(true);
                ch.pipeline().addLast("tls", new SslHandler(engine))
                        .addLast("http", new HttpClientCodec()).addLast("aggregator", new HttpObjectAggregator(1 << 20))
                        .addLast("upgrade", new SimpleChannelInboundHandler<FullHttpResponse>() {
                            @Override
                            protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse r) {
                                if (r.status().code() == 101) {
                                    ctx.pipeline().addAfter("http", "spdy", new SpdyFrameCodec(SpdyVersion.SPDY_3_1));
                                    ctx.pipeline().remove("aggregator");
                                    ctx.pipeline().replace(this, "frames", new Frames());
                                    ctx.pipeline().remove("http");
                                }
                                upgraded.complete(r.retainedDuplicate());
                            }

                            @Override
                            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                upgraded.completeExceptionally(cause);
                                ctx.close();
                            }
                        });
            }
        }).connect(uri.getHost(), uri.getPort()).sync().channel();
        FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.valueOf(method), uri.getRawPath()
                + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery()), Unpooled.EMPTY_BUFFER);
        req.headers().set(HttpHeaderNames.HOST, uri.getHost() + ":" + uri.getPort()).set(HttpHeaderNames.CONNECTION, "Upgrade")
                .set(HttpHeaderNames.UPGRADE, "SPDY/3.1").set(HttpHeaderNames.CONTENT_LENGTH, 0);
        protocols.forEach(p -> req.headers().add("X-Stream-Protocol-Version", p));
        if (token != null) {
            req.headers().set(HttpHeaderNames.AUTHORIZATION, "Bearer " + token);
        }
        channel.writeAndFlush(req);
        FullHttpResponse r = upgraded.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        try {
            if (r.status().code() != 101) {
                throw new Refused(r.status().code(), r.content().toString(StandardCharsets.UTF_8));
            }
            protocol = r.headers().get("X-Stream-Protocol-Version");
        } finally {
            r.release();
        }
    }

    /** The sub-protocol the server chose. */
    public String protocol() {
        return protocol;
    }

    /** Opens a stream with {@code headers}; returns its id once the server replied. */
    public int openStream(Map<String, String> headers, Duration timeout) throws Exception {
        int id;
        synchronized (this) {
            id = nextId;
            nextId += 2;
        }
        Received r = new Received();
        streams.put(id, r);
        DefaultSpdySynStreamFrame syn = new DefaultSpdySynStreamFrame(id, 0, (byte) 0);
        headers.forEach((k, v) -> syn.headers().set(k, v));
        channel.writeAndFlush(syn).sync();
        r.replied.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        return id;
    }

    public void write(int id, byte[] data) throws InterruptedException {
        channel.writeAndFlush(new DefaultSpdyDataFrame(id, Unpooled.copiedBuffer(data))).sync();
    }

    /** Half-closes stream {@code id} (the client sends no more on it). */
    public void finish(int id) throws InterruptedException {
        DefaultSpdyDataFrame fin = new DefaultSpdyDataFrame(id);
        fin.setLast(true);
        channel.writeAndFlush(fin).sync();
    }

    /** Everything the server sent on {@code id}, once it ended the stream (or the connection). */
    public byte[] awaitEnd(int id, Duration timeout) throws Exception {
        return streams.get(id).ended.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    private final class Frames extends SimpleChannelInboundHandler<SpdyFrame> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, SpdyFrame frame) {
            if (frame instanceof SpdySynReplyFrame reply && streams.containsKey(reply.streamId())) {
                streams.get(reply.streamId()).replied.complete(null);
            } else if (frame instanceof SpdyDataFrame d && streams.containsKey(d.streamId())) {
                Received r = streams.get(d.streamId());
                synchronized (r) {
                    byte[] b = new byte[d.content().readableBytes()];
                    d.content().readBytes(b);
                    r.bytes.write(b, 0, b.length);
                    if (d.isLast()) {
                        r.ended.complete(r.bytes.toByteArray());
                    }
                }
            } else if (frame instanceof SpdyRstStreamFrame rst && streams.containsKey(rst.streamId())) {
                Received r = streams.get(rst.streamId());
                synchronized (r) {
                    r.ended.complete(r.bytes.toByteArray());
                }
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            streams.values().forEach(r -> {
                synchronized (r) {
                    r.ended.complete(r.bytes.toByteArray());
                }
            });
        }
    }

    @Override
    public void close() {
        if (channel != null) {
            channel.close().syncUninterruptibly();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
}
