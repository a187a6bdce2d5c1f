package gpufleet.tenant.kubelet;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One exec or attach, whatever carries it (SPDY or WebSocket): the client's stdin and terminal
 * sizes go to the backend's session in order through an {@link InputPump}; the session's output
 * goes to the transport's {@link Output}, which blocks while the client does not read; the end is
 * written on the error stream as the negotiated protocol wants it.
 */
final class RemoteCommand implements KubeletBackend.StreamSink {

    /** What to run: command is null for attach. */
    record Target(KubeletBackend.PodRef pod, String container, List<String> command, KubeletBackend.StreamOptions options) {}

    /** A transport's side: blocking writes to the client's streams, and the end of the whole exchange. */
    interface Output {
        void stdout(byte[] data, int offset, int length) throws IOException;

        void stderr(byte[] data, int offset, int length) throws IOException;

        /** Writes {@code status} (null: nothing) on the error stream, ends every stream and the connection. */
        void finish(byte[] status);
    }

    private final KubeletBackend backend;
    private final Target target;
    private final boolean statusAsJson;
    private final Output output;
    private final InputPump pump;
    private final AtomicBoolean finished = new AtomicBoolean();
    private final ByteArrayOutputStream resizeBuffer = new ByteArrayOutputStream();
    private volatile KubeletBackend.StreamSession session;

    /** {@code statusAsJson}: protocol v4 and later write a Status document; earlier ones only a failure's message. */
    RemoteCommand(KubeletBackend backend, Target target, boolean statusAsJson, Output output, InputPump pump) {
        this.backend = backend;
        this.target = target;
        this.statusAsJson = statusAsJson;
        this.output = output;
        this.pump = pump;
    }

    /** Starts the command in the container; input that arrives before it started waits in the pump. */
    void start() {
        pump.submit(0, () -> {
            try {
                session = target.command() == null
                        ? backend.attach(target.pod(), target.container(), target.options(), this)
                        : backend.exec(target.pod(), target.container(), target.command(), target.options(), this);
            } catch (IOException | RuntimeException e) {
                closed(null, Statuses.message(e));
            }
        });
    }

    /** Client input on the stdin stream (called on the event loop; the bytes are copied). */
    void stdin(ByteBuf data) {
        byte[] bytes = ByteBufUtil.getBytes(data);
        pump.submit(bytes.length, () -> {
            if (session != null) {
                session.stdin(bytes, 0, bytes.length);
            }
        });
    }

    void stdinClosed() {
        pump.submit(0, () -> {
            if (session != null) {
                session.closeStdin();
            }
        });
    }

    /** Bytes on the resize stream: a sequence of {"Width":w,"Height":h} documents, possibly split anywhere. */
    void resize(ByteBuf data) {
        byte[] bytes = ByteBufUtil.getBytes(data);
        synchronized (resizeBuffer) {
            resizeBuffer.write(bytes, 0, bytes.length);
            byte[] all = resizeBuffer.toByteArray();
            int consumed = 0;
            int depth = 0;
            for (int i = 0; i < all.length; i++) {
                if (all[i] == '{') {
                    depth++;
                } else if (all[i] == '}' && --depth == 0) {
                    submitResize(all, consumed, i + 1 - consumed);
                    consumed = i + 1;
                }
            }
            resizeBuffer.reset();
            resizeBuffer.write(all, consumed, all.length - consumed);
        }
    }

    private void submitResize(byte[] doc, int offset, int length) {
        try {
            JsonNode size = Statuses.JSON.readTree(doc, offset, length);
            int width = size.path("Width").asInt();
            int height = size.path("Height").asInt();
            pump.submit(0, () -> {
                if (session != null) {
                    session.resize(width, height);
                }
            });
        } catch (IOException e) {
            // The kubelet stops reading sizes at the first bad document; one bad size is not worth ending the session.
        }
    }

    /** The client went away: the session is abandoned. */
    void clientGone() {
        finished.set(true);
        pump.submit(0, () -> {
            KubeletBackend.StreamSession s = session;
            if (s != null) {
                s.close();
            }
        });
    }

    @Override
    public void stdout(byte[] data, int offset, int length) throws IOException {
        output.stdout(data, offset, length);
    }

    @Override
    public void stderr(byte[] data, int offset, int length) throws IOException {
        output.stderr(data, offset, length);
    }

    @Override
    public void closed(Integer exitCode, String failure) {
        if (!finished.compareAndSet(false, true)) {
            return;
        }
        byte[] status;
        if (exitCode != null && exitCode == 0) {
            status = statusAsJson ? Statuses.success() : null;
        } else if (exitCode != null) {
            status = statusAsJson ? Statuses.nonZeroExit(target.command(), exitCode)
                    : Statuses.utf8(Statuses.nonZeroExitMessage(target.command(), exitCode));
        } else {
            String message = failure == null ? "the stream ended without an exit code" : failure;
            status = statusAsJson ? Statuses.internalError(message) : Statuses.utf8(message);
        }
        output.finish(status);
    }

    /** The exec/attach query: the kubelet takes "1"; "true" is accepted too. stderr is dropped with a tty, as the kubelet does. */
    static KubeletBackend.StreamOptions options(Map<String, List<String>> query) {
        boolean tty = flag(query, "tty");
        KubeletBackend.StreamOptions o = new KubeletBackend.StreamOptions(flag(query, "stdin"), flag(query, "stdout"),
                flag(query, "stderr") && !tty, tty);
        if (!o.stdin() && !o.stdout() && !o.stderr()) {
            throw new KubeletException(400, "you must specify at least 1 of stdin, stdout, stderr");
        }
        return o;
    }

    private static boolean flag(Map<String, List<String>> query, String name) {
        List<String> v = query.get(name);
        return v != null && !v.isEmpty() && (v.get(0).equals("1") || v.get(0).equalsIgnoreCase("true"));
    }
}
