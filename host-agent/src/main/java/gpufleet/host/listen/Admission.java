package gpufleet.host.listen;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.Map;

/**
 * Counts open connections of one kind, in total and per source address, against their bounds.
 * Decided on the accept thread before anything is allocated for the connection. Used by the
 * stream server (connections before their ticket) and the port relays (every connection).
 */
public final class Admission {
    private final int max;
    private final int maxPerSource;
    private final Map<InetAddress, Integer> bySource = new HashMap<>();
    private int total;

    public Admission(int max, int maxPerSource) {
        this.max = max;
        this.maxPerSource = maxPerSource;
    }

    /** Takes a slot for {@code source}, or false when it or the whole server is at its bound. */
    public synchronized boolean enter(InetAddress source) {
        int mine = bySource.getOrDefault(source, 0);
        if (total >= max || mine >= maxPerSource) {
            return false;
        }
        bySource.put(source, mine + 1);
        total++;
        return true;
    }

    public synchronized void leave(InetAddress source) {
        int mine = bySource.getOrDefault(source, 0);
        if (mine <= 1) {
            bySource.remove(source);
        } else {
            bySource.put(source, mine - 1);
        }
        total--;
    }

    public synchronized int total() {
        return total;
    }
}
