package gpufleet.tenant.kubelet;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.spdy.DefaultSpdyDataFrame;
import io.netty.handler.codec.spdy.DefaultSpdyGoAwayFrame;
import io.netty.handler.codec.spdy.DefaultSpdyPingFrame;
import io.netty.handler.codec.spdy.DefaultSpdyRstStreamFrame;
import io.netty.handler.codec.spdy.DefaultSpdySynReplyFrame;
import io.netty.handler.codec.spdy.SpdyDataFrame;
import io.netty.handler.codec.spdy.SpdyFrame;
import io.netty.handler.codec.spdy.SpdyGoAwayFrame;
import io.netty.handler.codec.spdy.SpdyHeaders;
import io.netty.handler.codec.spdy.SpdyPingFrame;
import io.netty.handler.codec.spdy.SpdyRstStreamFrame;
import io.netty.handler.codec.spdy.SpdyStreamStatus;
import io.netty.handler.codec.spdy.SpdySynStreamFrame;
import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * The server side of a SPDY/3.1 connection as Kubernetes' clients speak it (Go's spdystream): the
 * client opens streams, each named by headers, the server answers each with a SYN_REPLY at once.
 * Flow control is not spoken (spdystream neither sends nor honours WINDOW_UPDATE); a slow client
 * pushes back through TCP and {@link ChannelWriter}. Subclasses give the streams their meaning.
 */
abstract class SpdyConnection extends SimpleChannelInboundHandler<SpdyFrame> {
    /** Largest DATA frame written; SPDY allows 16 MiB, small frames keep streams interleaved. */
    static final int MAX_FRAME = 32 * 1024;
    /** How long the client gets to close the connection itself once everything was sent. */
    static final long CLOSE_GRACE_SECONDS = 10;

    protected ChannelHandlerContext ctx;
    private volatile int lastStream;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    /** The client opened stream {@code id}; it has been answered. On the event loop. */
    protected abstract void opened(int id, SpdyHeaders headers, boolean last);

    /** Data on stream {@code id}; {@code last}: the client will send no more on it. On the event loop. */
    protected abstract void data(int id, ByteBuf content, boolean last);

    /** The client reset stream {@code id}. */
    protected abstract void reset(int id);

    /** The connection is gone. */
    protected abstract void closed();

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, SpdyFrame frame) {
        if (frame instanceof SpdySynStreamFrame syn) {
            if (syn.isInvalid()) {
                ctx.writeAndFlush(new DefaultSpdyRstStreamFrame(syn.streamId(), SpdyStreamStatus.PROTOCOL_ERROR));
                return;
            }
            lastStream = Math.max(lastStream, syn.streamId());
            // The reply echoes the stream's headers: Netty writes an empty header set as a block with no
            // bytes at all, which Go's framer cannot read (it expects at least the compressed count).
            DefaultSpdySynReplyFrame reply = new DefaultSpdySynReplyFrame(syn.streamId());
            reply.headers().set(syn.headers());
            ctx.writeAndFlush(reply);
            opened(syn.streamId(), syn.headers(), syn.isLast());
        } else if (frame instanceof SpdyDataFrame d) {
            data(d.streamId(), d.content(), d.isLast());
        } else if (frame instanceof SpdyRstStreamFrame r) {
            reset(r.streamId());
        } else if (frame instanceof SpdyPingFrame p && (p.id() & 1) == 1) {
            ctx.writeAndFlush(new DefaultSpdyPingFrame(p.id()));
        } else if (frame instanceof SpdyGoAwayFrame) {
            ctx.close();
        }
        // SETTINGS, WINDOW_UPDATE and HEADERS carry nothing the Kubernetes protocols use.
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        closed();
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }

    /** Writes on stream {@code id} from a backend thread, blocking while the client does not read. */
    void send(int id, byte[] data, int offset, int length) throws IOException {
        ChannelWriter writer = ChannelWriter.of(ctx.channel());
        for (int at = offset; at < offset + length; at += MAX_FRAME) {
            int n = Math.min(MAX_FRAME, offset + length - at);
            writer.write(new DefaultSpdyDataFrame(id, Unpooled.copiedBuffer(data, at, n)));
        }
    }

    /** Half-closes stream {@code id} from the server's side (an empty DATA frame with FIN). */
    void endStream(int id) {
        DefaultSpdyDataFrame fin = new DefaultSpdyDataFrame(id);
        fin.setLast(true);
        ctx.writeAndFlush(fin);
    }

    /** Says GOAWAY and closes once the client had time to read what was sent; the client usually closes first. */
    void goAway() {
        if (!ctx.channel().isActive()) {
            return;
        }
        ctx.writeAndFlush(new DefaultSpdyGoAwayFrame(lastStream)).addListener((ChannelFutureListener) f ->
                ctx.executor().schedule(() -> ctx.close(), CLOSE_GRACE_SECONDS, TimeUnit.SECONDS));
    }
}
