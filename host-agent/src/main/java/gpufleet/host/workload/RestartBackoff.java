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
        State s = states.get(key);
        if (s != null && now.isBefore(s.last().plus(s.delay()))) {
            return false;
        }
        Duration next = s == null || now.isAfter(s.last().plus(RESET_AFTER)) ? base
                : (s.delay().multipliedBy(2).compareTo(MAX) > 0 ? MAX : s.delay().multipliedBy(2));
        states.put(key, new State(s == null ? Duration.ZERO.plus(base) : next, now));
        return true;
    }

    /** How long until {@code key} may try again (zero when it may now). */
    Duration remaining(String key, Instant now) {
        State s = states.get(key);
        if (s == null) {
            return Duration.ZERO;
        }
        Duration left = Duration.between(now, s.last().plus(s.delay()));
        return left.isNegative() ? Duration.ZERO : left;
    }

    void forget(String prefix) {
        states.keySet().removeIf(k -> k.startsWith(prefix));
    }
}
