package gpufleet.common.stream;

import java.time.Instant;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * The host's door for stream requests: a ticket must be signed with this host's key for exactly
 * the request that carries it, unexpired, and unused. Each admitted nonce is remembered until its
 * ticket expires, so a second use (a replay) is refused; after expiry the ticket itself is refused.
 */
public final class TicketGate {
    /** Nonces kept at most: a flood of streams cannot grow the host's memory without end. */
    static final int MAX_REMEMBERED = 100_000;

    private final String key;
    private final Map<String, Long> seen = new HashMap<>();

    public TicketGate(String key) {
        this.key = key;
    }

    /** Null when the request may be served (its nonce is now spent), else why not. */
    public synchronized String admit(StreamRequest req, Instant now) {
        forgetExpired(now.getEpochSecond());
        Tickets.Verdict v = Tickets.check(key, req, now);
        if (v.refusal() != null) {
            return v.refusal();
        }
        if (seen.containsKey(v.nonce())) {
            return "stream ticket already used";
        }
        if (seen.size() >= MAX_REMEMBERED) {
            // Forgetting a live nonce would let its ticket be replayed; refusing is the safe side.
            return "too many streams opened in the last " + Tickets.MAX_LIFE.toSeconds() + " s; try again shortly";
        }
        seen.put(v.nonce(), v.expiresEpochSecond());
        return null;
    }

    synchronized int remembered() {
        return seen.size();
    }

    private void forgetExpired(long nowSecond) {
        for (Iterator<Long> it = seen.values().iterator(); it.hasNext(); ) {
            if (it.next() < nowSecond) {
                it.remove();
            }
        }
    }
}
