package gpufleet.tenant.kubelet;

import java.io.IOException;
import java.io.OutputStream;
import java.util.List;

/**
 * What the kubelet API asks of the provider, for pods of this tenant on the virtual node. The
 * implementation relays to the control-api, which relays to the host-agent that runs the pod.
 * Every call blocks the calling thread (never call it on an event loop); data flows through
 * blocking writes, so a slow reader on one side slows the writer on the other (backpressure).
 * Failures the user should see are {@link KubeletException}s carrying an HTTP status and message.
 */
public interface KubeletBackend {

    /** Writes the container's log to {@code out} until it ends (or, with follow, until the container stops or out fails). */
    void logs(PodRef pod, String container, LogOptions options, OutputStream out) throws IOException;

    /** Starts {@code command} in the container; output and the end arrive at {@code sink}. */
    StreamSession exec(PodRef pod, String container, List<String> command, StreamOptions options, StreamSink sink) throws IOException;

    /** Attaches to the container's main process; output and the end arrive at {@code sink}. */
    StreamSession attach(PodRef pod, String container, StreamOptions options, StreamSink sink) throws IOException;

    /** Opens one connection to {@code port} inside the pod's network namespace; data back arrives at {@code sink}. */
    Tunnel portForward(PodRef pod, int port, TunnelSink sink) throws IOException;

    /** Resource usage of every pod of this tenant on the node, for /stats/summary and /metrics/resource. */
    List<PodStats> stats() throws IOException;

    /** A pod as the API server names it; uid is metadata.uid (the provider knows pods by it). */
    record PodRef(String namespace, String name, String uid) {}

    /** The kubelet's log parameters; null means not given. sinceTime is RFC 3339. */
    record LogOptions(boolean follow, Long tailLines, Long sinceSeconds, String sinceTime, boolean timestamps,
                      boolean previous, Long limitBytes) {}

    record StreamOptions(boolean stdin, boolean stdout, boolean stderr, boolean tty) {}

    /** A running exec or attach. Writes block while the container does not read. */
    interface StreamSession extends AutoCloseable {
        void stdin(byte[] data, int offset, int length) throws IOException;

        /** The client closed stdin (EOF for the process). */
        void closeStdin() throws IOException;

        void resize(int width, int height) throws IOException;

        /** Abandons the session (the client went away); the sink gets no more calls after it returns. */
        @Override
        void close();
    }

    /** Receives a session's output; calls come from one backend thread, in order, and may block. */
    interface StreamSink {
        void stdout(byte[] data, int offset, int length) throws IOException;

        void stderr(byte[] data, int offset, int length) throws IOException;

        /**
         * The end: {@code exitCode} when the process exited (0 = success), or null with a
         * {@code failure} message when the stream broke or could not start. Called exactly once.
         */
        void closed(Integer exitCode, String failure);
    }

    /** One port-forward connection. */
    interface Tunnel extends AutoCloseable {
        void send(byte[] data, int offset, int length) throws IOException;

        /** The client will send no more (half close). */
        void closeWrite() throws IOException;

        @Override
        void close();
    }

    interface TunnelSink {
        void data(byte[] data, int offset, int length) throws IOException;

        /** The connection ended: failure null when the pod side closed normally. Called exactly once. */
        void closed(String failure);
    }

    /** Usage of one pod. Times are RFC 3339; cumulative counters as the kubelet reports them. */
    record PodStats(PodRef pod, String startTime, List<ContainerStats> containers, List<GpuStats> gpus) {}

    record ContainerStats(String name, String startTime, long cpuUsageCoreNanoSeconds, long cpuUsageNanoCores,
                          long memoryWorkingSetBytes, long memoryUsageBytes, long memoryRssBytes, String sampledAt) {}

    record GpuStats(String uuid, String model, int utilizationPercent, long memoryUsedBytes, long memoryTotalBytes) {}
}
