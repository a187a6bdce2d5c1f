package gpufleet.tenant.kubelet;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;

/**
 * A WebSocket carrying Kubernetes' numbered channels: every message starts with its channel, as a
 * byte (binary protocols) or an ASCII digit before base64 text ({@code base64.} protocols).
 */
abstract class WsChannels extends SimpleChannelInboundHandler<WebSocketFrame> {
    /** Largest message written, so channels interleave. */
    static final int MAX_MESSAGE = 32 * 1024;

    private final boolean base64;
    protected ChannelHandlerContext ctx;

    WsChannels(String protocol) {
        this.base64 = protocol.contains("base64.");
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    /** A message on {@code channel} from the client, on the event loop. */
    protected abstract void message(int channel, ByteBuf data);

    /** The connection is gone. */
    protected abstract void closed();

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, WebSocketFrame frame) {
        if (frame instanceof BinaryWebSocketFrame && frame.content().isReadable()) {
            ByteBuf content = frame.content();
            message(content.readUnsignedByte(), content);
        } else if (frame instanceof TextWebSocketFrame text && base64) {
            String s = text.text();
            if (!s.isEmpty() && s.charAt(0) >= '0' && s.charAt(0) <= '9') {
                byte[] data = Base64.getDecoder().decode(s.substring(1));
                message(s.charAt(0) - '0', Unpooled.wrappedBuffer(data));
            }
        } else if (frame instanceof PingWebSocketFrame) {
            ctx.writeAndFlush(new PongWebSocketFrame(frame.content().retain()));
        } else if (frame instanceof CloseWebSocketFrame) {
            ctx.writeAndFlush(new CloseWebSocketFrame(1000, "")).addListener(ChannelFutureListener.CLOSE);
        }
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

    /** Writes on {@code channel} from a backend thread, blocking while the client does not read. */
    void send(int channel, byte[] data, int offset, int length) throws IOException {
        ChannelWriter writer = ChannelWriter.of(ctx.channel());
        int at = offset;
        do {
            int n = Math.min(MAX_MESSAGE, offset + length - at);
            writer.write(frame(channel, data, at, n));
            at += n;
        } while (at < offset + length);
    }

    /** Writes on {@code channel} without waiting (small control messages). */
    void sendNow(int channel, byte[] data) {
        ctx.writeAndFlush(frame(channel, data, 0, data.length));
    }

    private WebSocketFrame frame(int channel, byte[] data, int offset, int length) {
        if (base64) {
            String body = (char) ('0' + channel) + Base64.getEncoder().encodeToString(Arrays.copyOfRange(data, offset, offset + length));
            return new TextWebSocketFrame(Unpooled.copiedBuffer(body, StandardCharsets.US_ASCII));
        }
        ByteBuf buf = Unpooled.buffer(length + 1);
        buf.writeByte(channel);
        buf.writeBytes(data, offset, length);
        return new BinaryWebSocketFrame(buf);
    }

    /** Ends the connection with a normal close once what was written is on its way. */
    void closeNormally() {
        ctx.writeAndFlush(new CloseWebSocketFrame(1000, "")).addListener(ChannelFutureListener.CLOSE);
    }
}
