package gpufleet.host.runtime;

/**
 * How a command run in a container ended: its exit code and the start of what it wrote (stdout
 * and stderr together, cut at {@link #MAX_OUTPUT} characters, as the kubelet keeps only the head
 * of a hook's or probe's output for its event). {@code timedOut}: it did not end within the time
 * given; its exit code is then unknown (-1).
 */
public record ExecResult(int exitCode, String output, boolean timedOut) {
    public static final int MAX_OUTPUT = 10 * 1024;
}
