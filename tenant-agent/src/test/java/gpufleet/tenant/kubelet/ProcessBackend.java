package gpufleet.tenant.kubelet;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A real kubelet backend on this machine, for tests: exec and attach run local processes, logs are
 * read from generated log files, port-forward dials the port on 127.0.0.1. What the server passed
 * is recorded so tests can check it arrived unchanged.
 */
public final class ProcessBackend implements KubeletBackend {
    private final Path logs;
    /** The command attach "attaches" to: a fresh process standing in for the container's main one. */
    public volatile List<String> attachCommand = List.of("cat");
    public volatile LogOptions lastLogOptions;
    /** Log bytes handed to the server's stream so far (the writes return only when the client keeps up). */
    public volatile long logBytesWritten;
    /** The thread inside a write to the server's log stream right now, or null: what a test watches to see it held back. */
    public volatile Thread logWriteInProgress;
    public final List<int[]> resizes = new CopyOnWriteArrayList<>();
    public volatile List<PodStats> stats = List.of();
    public volatile boolean statsFail;
    /** Every process exec and attach started, newest last. */
    public final List<Process> processes = new CopyOnWriteArrayList<>();
    /** Why the last log stream ended early, or null. */
    public volatile IOException lastLogFailure;
    /** A log stream that broke for a reason other than its stream (a bug here or in the server), so tests fail with it, not by timing out. */
    public volatile RuntimeException lastLogError;

    public ProcessBackend(Path logs) {
        this.logs = logs;
    }

    /** Writes a container's log: lines "RFC3339 message", in the order given. */
    public void writeLog(PodRef pod, String container, boolean previous, List<String> timestampedLines) throws IOException {
        Path file = logFile(pod, container, previous);
        Files.createDirectories(file.getParent());
        Files.write(file, timestampedLines, StandardCharsets.UTF_8);
    }

    /** Appends to a followed log; {@code end} marks the container as stopped (follow ends). */
    public void appendLog(PodRef pod, String container, String line, boolean end) throws IOException {
        Files.writeString(logFile(pod, container, false), line + "\n", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        if (end) {
            Files.createFile(logFile(pod, container, false).resolveSibling(container + ".stopped"));
        }
    }

    private Path logFile(PodRef pod, String container, boolean previous) {
        return logs.resolve(pod.uid()).resolve(container + (previous ? ".previous.log" : ".log"));
    }

    @Override
    public void logs(PodRef pod, String container, LogOptions options, OutputStream out) throws IOException {
        lastLogOptions = options;
        try {
            writeLog(pod, container, options, out);
        } catch (IOException e) {
            lastLogFailure = e;
            throw e;
        } catch (RuntimeException e) {
            lastLogError = e;
            throw e;
        }
    }

    private void writeLog(PodRef pod, String container, LogOptions options, OutputStream out) throws IOException {
        Path file = logFile(pod, container, options.previous());
        if (!Files.exists(file)) {
            throw new KubeletException(400, (options.previous() ? "previous terminated container \"" : "container \"") + container
                    + "\" in pod \"" + pod.name() + "\" not found");
        }
        LogWriter writer = new LogWriter(options, out);
        List<String> lines = completeLines(file);
        int from = options.tailLines() == null ? 0 : (int) Math.max(0, lines.size() - options.tailLines());
        for (String line : lines.subList(from, lines.size())) {
            if (!writer.line(line)) {
                return;
            }
        }
        int seen = lines.size();
        Path stopped = file.resolveSibling(container + ".stopped");
        while (options.follow()) {
            // Looked at before reading, so lines written just before the container stopped still go out.
            boolean stoppedNow = Files.exists(stopped);
            List<String> now = completeLines(file);
            for (String line : now.subList(seen, now.size())) {
                if (!writer.line(line)) {
                    return;
                }
            }
            seen = now.size();
            if (stoppedNow) {
                return;
            }
            sleep(20);
        }
    }

    /** The lines that end in a newline: one being appended at this moment waits for the next look. */
    private static List<String> completeLines(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.UTF_8);
        int end = text.lastIndexOf('\n');
        return end < 0 ? List.of() : List.of(text.substring(0, end).split("\n", -1));
    }

    /** Applies since/timestamps/limitBytes to lines as they go out. */
    private final class LogWriter {
        private final LogOptions options;
        private final OutputStream out;
        private final Instant since;
        private long written;

        LogWriter(LogOptions options, OutputStream out) {
            this.options = options;
            this.out = out;
            this.since = options.sinceTime() != null ? Instant.parse(options.sinceTime())
                    : options.sinceSeconds() != null ? Instant.now().minusSeconds(options.sinceSeconds()) : null;
        }

        /** False once limitBytes is reached. */
        boolean line(String stamped) throws IOException {
            int space = stamped.indexOf(' ');
            Instant at = Instant.parse(stamped.substring(0, space));
            if (since != null && at.isBefore(since)) {
                return true;
            }
            byte[] bytes = ((options.timestamps() ? stamped : stamped.substring(space + 1)) + "\n").getBytes(StandardCharsets.UTF_8);
            int n = bytes.length;
            if (options.limitBytes() != null) {
                n = (int) Math.min(n, options.limitBytes() - written);
            }
            logWriteInProgress = Thread.currentThread();
            try {
                out.write(bytes, 0, n);
                out.flush();
            } finally {
                logWriteInProgress = null;
            }
            written += n;
            logBytesWritten = written;
            return options.limitBytes() == null || written < options.limitBytes();
        }
    }

    @Override
    public StreamSession exec(PodRef pod, String container, List<String> command, StreamOptions options, StreamSink sink) throws IOException {
        return run(command, options, sink);
    }

    @Override
    public StreamSession attach(PodRef pod, String container, StreamOptions options, StreamSink sink) throws IOException {
        return run(attachCommand, options, sink);
    }

    private StreamSession run(List<String> command, StreamOptions options, StreamSink sink) throws IOException {
        Process process = new ProcessBuilder(command).start();
        processes.add(process);
        if (!options.stdin()) {
            process.getOutputStream().close();
        }
        Thread out = pump(process.getInputStream(), sink, true);
        Thread err = pump(process.getErrorStream(), sink, false);
        Thread waiter = new Thread(() -> {
            try {
                out.join();
                err.join();
                int code = process.waitFor();
                sink.closed(code, null);
            } catch (InterruptedException e) {
                sink.closed(null, "interrupted");
            }
        }, "test-exec-wait");
        waiter.setDaemon(true);
        waiter.start();
        return new StreamSession() {
            @Override
            public void stdin(byte[] data, int offset, int length) throws IOException {
                process.getOutputStream().write(data, offset, length);
                process.getOutputStream().flush();
            }

            @Override
            public void closeStdin() throws IOException {
                process.getOutputStream().close();
            }

            @Override
            public void resize(int width, int height) {
                resizes.add(new int[] {width, height});
            }

            @Override
            public void close() {
                process.destroyForcibly();
            }
        };
    }

    private static Thread pump(InputStream in, StreamSink sink, boolean stdout) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[8192];
            try {
                for (int n; (n = in.read(buf)) > 0; ) {
                    synchronized (sink) {
                        if (stdout) {
                            sink.stdout(buf, 0, n);
                        } else {
                            sink.stderr(buf, 0, n);
                        }
                    }
                }
            } catch (IOException e) {
                // The client went away or the process ended: the waiter reports the end.
            }
        }, "test-exec-pump");
        t.setDaemon(true);
        t.start();
        return t;
    }

    @Override
    public Tunnel portForward(PodRef pod, int port, TunnelSink sink) throws IOException {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 2000);
        Thread reader = new Thread(() -> {
            byte[] buf = new byte[8192];
            try (InputStream in = socket.getInputStream()) {
                for (int n; (n = in.read(buf)) > 0; ) {
                    sink.data(buf, 0, n);
                }
                sink.closed(null);
            } catch (IOException e) {
                sink.closed(e.getMessage());
            }
        }, "test-port-forward");
        reader.setDaemon(true);
        reader.start();
        return new Tunnel() {
            @Override
            public void send(byte[] data, int offset, int length) throws IOException {
                socket.getOutputStream().write(data, offset, length);
            }

            @Override
            public void closeWrite() throws IOException {
                socket.shutdownOutput();
            }

            @Override
            public void close() {
                try {
                    socket.close();
                } catch (IOException e) {
                    // already closed
                }
            }
        };
    }

    @Override
    public List<PodStats> stats() throws IOException {
        if (statsFail) {
            throw new IOException("the provider did not answer");
        }
        return new ArrayList<>(stats);
    }

    private static void sleep(long millis) throws IOException {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }
}
