package gpufleet.tenant.kubelet;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.Executor;

/**
 * Exec and attach over WebSocket: channels 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize; v5
 * adds 255, the client's signal that it closed a channel (stdin's EOF).
 */
final class WsExec extends WsChannels implements RemoteCommand.Output {
    static final List<String> PROTOCOLS = List.of("v5.channel.k8s.io", "v4.channel.k8s.io", "v4.base64.channel.k8s.io",
            "channel.k8s.io", "base64.channel.k8s.io");
    static final int STDIN = 0;
    static final int STDOUT = 1;
    static final int STDERR = 2;
    static final int ERROR = 3;
    static final int RESIZE = 4;
    static final int CLOSE = 255;

    private final RemoteCommand.Target target;
    private final RemoteCommand command;

    WsExec(KubeletBackend backend, Executor pool, Channel channel, RemoteCommand.Target target, String protocol) {
        super(protocol);
        this.target = target;
        boolean json = protocol.startsWith("v4.") || protocol.startsWith("v5.");
        this.command = new RemoteCommand(backend, target, json, this, new InputPump(pool, channel));
    }

    /** Tells the client the streams are up (an empty message on the first writable channel) and starts the command. */
    void begin() {
        KubeletBackend.StreamOptions o = target.options();
        sendNow(o.stdout() ? STDOUT : o.stderr() ? STDERR : ERROR, new byte[0]);
        command.start();
    }

    @Override
    protected void message(int channel, ByteBuf data) {
        if (channel == STDIN && target.options().stdin()) {
            command.stdin(data);
        } else if (channel == RESIZE) {
            command.resize(data);
        } else if (channel == CLOSE && data.isReadable() && data.readUnsignedByte() == STDIN) {
            command.stdinClosed();
        }
    }

    @Override
    protected void closed() {
        command.clientGone();
    }

    @Override
    public void stdout(byte[] data, int offset, int length) throws IOException {
        if (target.options().stdout()) {
            send(STDOUT, data, offset, length);
        }
    }

    @Override
    public void stderr(byte[] data, int offset, int length) throws IOException {
        if (target.options().stderr()) {
            send(STDERR, data, offset, length);
        }
    }

    @Override
    public void finish(byte[] status) {
        if (status != null) {
            try {
                send(ERROR, status, 0, status.length);
            } catch (IOException e) {
                return;
            }
        }
        closeNormally();
    }
}
