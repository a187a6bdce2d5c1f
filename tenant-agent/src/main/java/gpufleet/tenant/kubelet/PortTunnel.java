package gpufleet.tenant.kubelet;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One port-forward connection into the pod, whatever carries it: client bytes go to the backend's
 * tunnel in order through an {@link InputPump}, the pod's bytes to the transport's {@link Output}.
 */
final class PortTunnel implements KubeletBackend.TunnelSink {

    /** A transport's side of one forwarded connection. */
    interface Output {
        void data(byte[] data, int offset, int length) throws IOException;

        /** The connection ended; {@code failure} (null when the pod side closed normally) goes on the error stream. */
        void end(String failure);
    }

    private final KubeletBackend backend;
    private final KubeletBackend.PodRef pod;
    private final int port;
    private final Output output;
    private final InputPump pump;
    private final AtomicBoolean ended = new AtomicBoolean();
    private volatile KubeletBackend.Tunnel tunnel;

    PortTunnel(KubeletBackend backend, KubeletBackend.PodRef pod, int port, Output output, InputPump pump) {
        this.backend = backend;
        this.pod = pod;
        this.port = port;
        this.output = output;
        this.pump = pump;
    }

    void open() {
        pump.submit(0, () -> {
            try {
                tunnel = backend.portForward(pod, port, this);
            } catch (IOException | RuntimeException e) {
                closed(e instanceof KubeletException ? e.getMessage() : e.toString());
            }
        });
    }

    /** Client bytes, on the event loop (copied). */
    void send(ByteBuf data) {
        byte[] bytes = ByteBufUtil.getBytes(data);
        pump.submit(bytes.length, () -> {
            if (tunnel != null) {
                tunnel.send(bytes, 0, bytes.length);
            }
        });
    }

    void closeWrite() {
        pump.submit(0, () -> {
            if (tunnel != null) {
                tunnel.closeWrite();
            }
        });
    }

    /** The client went away or reset the stream. */
    void close() {
        ended.set(true);
        pump.submit(0, () -> {
            if (tunnel != null) {
                tunnel.close();
            }
        });
    }

    @Override
    public void data(byte[] data, int offset, int length) throws IOException {
        output.data(data, offset, length);
    }

    @Override
    public void closed(String failure) {
        if (ended.compareAndSet(false, true)) {
            output.end(failure == null ? null : "error forwarding port " + port + " to pod " + pod.namespace() + "/" + pod.name()
                    + ", uid " + pod.uid() + ": " + failure);
        }
    }
}
