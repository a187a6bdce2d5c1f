package gpufleet.host.workload;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The kubelet's back-off for restarts and image pulls: base delay doubling to five minutes,
 * forgotten after ten minutes without trouble.
 */
final class RestartBackoff {
    static final Duration MAX = Duration.ofMinutes(5);
    static final Duration RESET_AFTER = Duration.ofMinutes(10);

    private record State(Duration delay, Instant last) {}

    private final Duration base;
    private final Map<String, State> states = new ConcurrentHashMap<>();

    RestartBackoff(Duration base) {
        this.base = base;
    }

    /** Whether {@code key} may try again at {@code now}; if so the attempt is recorded and the delay grows. */
    boolean tryNow(String key, Instant now) {
        return tryNow(key, now, null);
    }

    /**
     * As the kubelet restarts a crashed container: the delay runs from {@code since} (when the
     * last run ended) when that is later than the last attempt, so a container that ran a while
     * before it crashed still waits its back-off instead of restarting at once.
     */
    boolean tryNow(String key, Instant now, Instant since) {
        State s = states.get(key);
        if (s != null && now.isBefore(from(s, since).plus(s.delay()))) {
            return false;
        }
        Duration next = s == null || now.isAfter(s.last().plus(RESET_AFTER)) ? base
                : (s.delay().multipliedBy(2).compareTo(MAX) > 0 ? MAX : s.delay().multipliedBy(2));
        states.put(key, new State(s == null ? Duration.ZERO.plus(base) : next, now));
        return true;
    }

    /** How long until {@code key} may try again (zero when it may now). */
    Duration remaining(String key, Instant now) {
        return remaining(key, now, null);
    }

    Duration remaining(String key, Instant now, Instant since) {
        State s = states.get(key);
        if (s == null) {
            return Duration.ZERO;
        }
        Duration left = Duration.between(now, from(s, since).plus(s.delay()));
        return left.isNegative() ? Duration.ZERO : left;
    }

    private static Instant from(State s, Instant since) {
        return since != null && since.isAfter(s.last()) ? since : s.last();
    }

    void forget(String prefix) {
        states.keySet().removeIf(k -> k.startsWith(prefix));
    }
}
