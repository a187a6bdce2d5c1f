package gpufleet.host.stream;

import java.time.Duration;

/**
 * The stream server's bounds. Only the control-api holds tickets, so a connection that has not
 * yet shown one is a stranger (a pod on the host's network can dial the port): strangers get few
 * slots, few per address, and seconds to speak; verified sessions are bounded as a whole.
 *
 * @param sessions verified sessions served at once (each holds at most two threads and about
 *        170 KiB of buffers: 128 of them stay near 22 MiB of the agent's 96 MiB heap)
 * @param pending connections still to send their request line, from all addresses together
 * @param pendingPerSource the same, from one source address: one pod cannot take every slot
 * @param requestDeadline time from accept to a complete, verified request line
 * @param keepAliveIdle a session silent this long is probed by TCP keep-alive; a peer that is
 *        gone (half-open) is found after a few unanswered probes, a live idle shell is kept
 */
public record StreamLimits(int sessions, int pending, int pendingPerSource, Duration requestDeadline, Duration keepAliveIdle) {
    public static final StreamLimits DEFAULT = new StreamLimits(128, 64, 8, Duration.ofSeconds(5), Duration.ofSeconds(30));

    public StreamLimits {
        if (sessions < 1 || pending < 1 || pendingPerSource < 1 || pendingPerSource > pending) {
            throw new IllegalArgumentException("stream limits need sessions >= 1 and 1 <= pendingPerSource <= pending");
        }
        if (requestDeadline.isNegative() || requestDeadline.isZero() || keepAliveIdle.toSeconds() < 1) {
            throw new IllegalArgumentException("stream limits need a positive request deadline and keep-alive of at least 1 s");
        }
    }

    /** Threads the server may use at most: a handshake each, two per session. */
    int threads() {
        return pending + 2 * sessions;
    }
}
