package gpufleet.tenant.kubelet;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.spdy.SpdyHeaders;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * Exec and attach over SPDY (remotecommand protocols v2 to v4): the client opens one stream per
 * {@code streamtype} (error, stdin, stdout, stderr, resize); the command starts once every stream
 * the options call for is open, as the kubelet waits for them.
 */
final class SpdyExec extends SpdyConnection implements RemoteCommand.Output {
    static final List<String> PROTOCOLS = List.of("v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io");
    /** The kubelet's stream creation timeout. */
    static final long STREAM_CREATION_SECONDS = 30;

    private final RemoteCommand.Target target;
    private final String protocol;
    private final KubeletBackend backend;
    private final Executor pool;
    private final Map<String, Integer> streams = new HashMap<>();
    private RemoteCommand command;
    private ScheduledFuture<?> creationTimeout;
    private volatile int stdoutId;
    private volatile int stderrId;
    private volatile int errorId;

    SpdyExec(KubeletBackend backend, Executor pool, RemoteCommand.Target target, String protocol) {
        this.backend = backend;
        this.pool = pool;
        this.target = target;
        this.protocol = protocol;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        super.handlerAdded(ctx);
        creationTimeout = ctx.executor().schedule(() -> {
            ctx.close();
        }, STREAM_CREATION_SECONDS, TimeUnit.SECONDS);
    }

    private int expected() {
        KubeletBackend.StreamOptions o = target.options();
        int n = 1;
        n += o.stdin() ? 1 : 0;
        n += o.stdout() ? 1 : 0;
        n += o.stderr() ? 1 : 0;
        n += o.tty() && !protocol.startsWith("v2.") ? 1 : 0;
        return n;
    }

    @Override
    protected void opened(int id, SpdyHeaders headers, boolean last) {
        String type = headers.getAsString("streamtype");
        if (type == null || command != null || !List.of("error", "stdin", "stdout", "stderr", "resize").contains(type)) {
            return;
        }
        streams.put(type, id);
        if (streams.size() < expected()) {
            return;
        }
        creationTimeout.cancel(false);
        stdoutId = streams.getOrDefault("stdout", 0);
        stderrId = streams.getOrDefault("stderr", 0);
        errorId = streams.getOrDefault("error", 0);
        command = new RemoteCommand(backend, target, protocol.startsWith("v4."), this, new InputPump(pool, ctx.channel()));
        command.start();
        if (last && "stdin".equals(type)) {
            command.stdinClosed();
        }
    }

    @Override
    protected void data(int id, ByteBuf content, boolean last) {
        if (command == null) {
            return;
        }
        Integer stdin = streams.get("stdin");
        Integer resize = streams.get("resize");
        if (stdin != null && id == stdin) {
            if (content.isReadable()) {
                command.stdin(content);
            }
            if (last) {
                command.stdinClosed();
            }
        } else if (resize != null && id == resize && content.isReadable()) {
            command.resize(content);
        }
    }

    @Override
    protected void reset(int id) {
        Integer stdin = streams.get("stdin");
        if (command != null && stdin != null && id == stdin) {
            command.stdinClosed();
        }
    }

    @Override
    protected void closed() {
        if (creationTimeout != null) {
            creationTimeout.cancel(false);
        }
        if (command != null) {
            command.clientGone();
        }
    }

    @Override
    public void stdout(byte[] data, int offset, int length) throws IOException {
        if (stdoutId != 0) {
            send(stdoutId, data, offset, length);
        }
    }

    @Override
    public void stderr(byte[] data, int offset, int length) throws IOException {
        if (stderrId != 0) {
            send(stderrId, data, offset, length);
        }
    }

    @Override
    public void finish(byte[] status) {
        try {
            if (status != null && errorId != 0) {
                send(errorId, status, 0, status.length);
            }
        } catch (IOException e) {
            return;
        }
        for (int id : new int[] {stdoutId, stderrId, errorId}) {
            if (id != 0) {
                endStream(id);
            }
        }
        goAway();
    }
}
