package gpufleet.tenant.kubelet;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;

/**
 * Writes to a connection from a backend thread, waiting while the connection is not writable:
 * the backend is only asked for more when the client keeps up. Sits in every connection's
 * pipeline to hear writability changes; {@link #of} finds it.
 */
final class ChannelWriter extends ChannelInboundHandlerAdapter {
    private static final AttributeKey<ChannelWriter> KEY = AttributeKey.valueOf("gpufleet.kubelet.writer");
    private final Object monitor = new Object();
    private volatile Channel channel;

    static ChannelWriter of(Channel channel) {
        return channel.attr(KEY).get();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        channel.attr(KEY).set(this);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        wake();
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        wake();
        ctx.fireChannelInactive();
    }

    private void wake() {
        synchronized (monitor) {
            monitor.notifyAll();
        }
    }

    /** Writes and flushes {@code message} once the connection can take it; fails when the client went away. */
    void write(Object message) throws IOException {
        try {
            awaitWritable();
        } catch (IOException e) {
            ReferenceCountUtil.release(message);
            throw e;
        }
        channel.writeAndFlush(message).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
    }

    /** Blocks while the connection's outbound buffer is full. */
    void awaitWritable() throws IOException {
        synchronized (monitor) {
            while (channel.isActive() && !channel.isWritable()) {
                try {
                    monitor.wait(250);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while waiting for the client to read", e);
                }
            }
        }
        if (!channel.isActive()) {
            throw new IOException("the client went away");
        }
    }

    boolean open() {
        return channel.isActive();
    }
}
