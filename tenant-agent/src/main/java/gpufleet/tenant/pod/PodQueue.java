package gpufleet.tenant.pod;

import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Pod keys (namespace/name) waiting for a worker, as client-go's rate-limited work queue: a key is
 * queued once however often it is added, never handed to two workers at once (added while being
 * worked on, it comes back when that work is done), and a key that keeps failing waits longer
 * each time (from {@code first}, doubling, up to {@code max}; each wait drawn between half of that
 * and all of it) until it succeeds. A key added as new (a pod the provider has not yet been sent)
 * is handed out before the others: in a burst, the provider's hosts start on every new pod
 * sooner while status writes of pods already sent wait.
 */
final class PodQueue implements AutoCloseable {
    private final Duration first;
    private final Duration max;
    private final LinkedHashSet<String> queued = new LinkedHashSet<>();
    /** The keys of {@link #queued} added as new, in order: taken first. */
    private final LinkedHashSet<String> fresh = new LinkedHashSet<>();
    private final Set<String> working = new HashSet<>();
    private final Set<String> again = new HashSet<>();
    private final Map<String, Integer> failures = new HashMap<>();
    private final ScheduledExecutorService later = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "pod-queue-delay");
        t.setDaemon(true);
        return t;
    });
    private boolean closed;

    PodQueue(Duration first, Duration max) {
        this.first = first;
        this.max = max;
    }

    synchronized void add(String key) {
        add(key, false);
    }

    /** Adds a key; {@code isNew}: a pod not yet sent to the provider, handed out before the others. */
    synchronized void add(String key, boolean isNew) {
        if (closed) {
            return;
        }
        if (working.contains(key)) {
            again.add(key);
            return;
        }
        if (isNew) {
            fresh.add(key);
        }
        if (queued.add(key) || isNew) {
            notifyAll();
        }
    }

    void addAfter(String key, Duration delay) {
        synchronized (this) {
            if (closed) {
                return;
            }
        }
        later.schedule(() -> add(key), delay.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** After a failure: back again after this key's next back-off. Returns that back-off. */
    Duration retry(String key) {
        int n;
        synchronized (this) {
            n = failures.merge(key, 1, Integer::sum);
        }
        Duration wait = jittered(backoff(n));
        addAfter(key, wait);
        return wait;
    }

    /**
     * Somewhere from half of {@code ceiling} to all of it: pods refused together (the control-api
     * or its database away a moment, a failover) come back spread out, not in one wave.
     */
    static Duration jittered(Duration ceiling) {
        long half = ceiling.toMillis() / 2;
        return Duration.ofMillis(half + ThreadLocalRandom.current().nextLong(ceiling.toMillis() - half + 1));
    }

    Duration backoff(int failuresSoFar) {
        long millis = first.toMillis() << Math.min(failuresSoFar - 1, 30);
        return Duration.ofMillis(Math.min(millis, max.toMillis()));
    }

    /** After a success: the key's back-off starts over. */
    synchronized void forget(String key) {
        failures.remove(key);
    }

    synchronized int failures(String key) {
        return failures.getOrDefault(key, 0);
    }

    /** The next key, waiting for one; null once closed. The caller ends with {@link #done}. */
    synchronized String take() throws InterruptedException {
        while (queued.isEmpty() && !closed) {
            wait();
        }
        if (closed) {
            return null;
        }
        String key = fresh.isEmpty() ? queued.iterator().next() : fresh.iterator().next();
        fresh.remove(key);
        queued.remove(key);
        working.add(key);
        return key;
    }

    synchronized void done(String key) {
        working.remove(key);
        if (again.remove(key) && queued.add(key)) {
            notifyAll();
        }
    }

    synchronized int size() {
        return queued.size();
    }

    @Override
    public synchronized void close() {
        closed = true;
        later.shutdownNow();
        notifyAll();
    }
}
