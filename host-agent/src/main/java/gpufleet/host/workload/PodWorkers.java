package gpufleet.host.workload;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One worker per pod, as the kubelet's pod workers: work for a key runs one at a time and in
 * order, work for different keys runs side by side on a bounded pool, so one pod's slow stop, image
 * pull or failing sandbox never holds up another pod. Work is level-based: while a key is busy,
 * only the newest work submitted for it is kept (the older would compare a stale view anyway).
 */
final class PodWorkers implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PodWorkers.class);
    /** Threads at most; each pod holds one only while it has work (a stop blocks one for its grace period). */
    static final int THREADS = 64;

    /** What one key has: whether it is running, and the newest work waiting behind it. */
    private static final class Slot {
        Pending<?> pending;
    }

    private record Pending<T>(Function<Boolean, T> work, CompletableFuture<T> done, long seenAt) {}

    private final Map<String, Slot> busy = new HashMap<>();
    /** When each key's last work ended (System.nanoTime), kept a while to tell a stale view from a fresh one. */
    private final Map<String, Long> ended = new HashMap<>();
    private final ThreadPoolExecutor pool;

    PodWorkers() {
        AtomicInteger n = new AtomicInteger();
        this.pool = new ThreadPoolExecutor(THREADS, THREADS, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "pod-worker-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        pool.allowCoreThreadTimeOut(true);
    }

    /**
     * Runs {@code work} for {@code key} now, or after the key's running work if it has one.
     * {@code seenAt} (System.nanoTime) is when the caller looked at what the work is given; the
     * work is told {@code true} (stale: look again) when other work of its key ended after that.
     * The future completes with this work's result, or, when newer work replaced it before it
     * ran, with the newer work's result; exceptionally when the work threw.
     */
    <T> CompletableFuture<T> submit(String key, long seenAt, Function<Boolean, T> work) {
        CompletableFuture<T> done = new CompletableFuture<>();
        Pending<T> p = new Pending<>(work, done, seenAt);
        synchronized (busy) {
            Slot slot = busy.get(key);
            if (slot != null) {
                replace(slot, p);
                return done;
            }
            busy.put(key, new Slot());
        }
        pool.execute(() -> drain(key, p));
        return done;
    }

    @SuppressWarnings("unchecked")
    private static <T> void replace(Slot slot, Pending<T> newer) {
        Pending<Object> older = (Pending<Object>) slot.pending;
        if (older != null) {
            // The older work will never run: it is answered with what the newer one finds.
            newer.done().whenComplete((v, e) -> {
                if (e != null) {
                    older.done().completeExceptionally(e);
                } else {
                    older.done().complete(v);
                }
            });
        }
        slot.pending = newer;
    }

    private void drain(String key, Pending<?> first) {
        Pending<?> next = first;
        while (next != null) {
            boolean stale;
            synchronized (busy) {
                Long last = ended.get(key);
                stale = last != null && last - next.seenAt() >= 0;
            }
            run(key, next, stale);
            synchronized (busy) {
                long now = System.nanoTime();
                ended.put(key, now);
                // Only views older than a minute could be compared with older ends; none is kept that long.
                ended.values().removeIf(t -> now - t > TimeUnit.MINUTES.toNanos(1));
                Slot slot = busy.get(key);
                next = slot.pending;
                slot.pending = null;
                if (next == null) {
                    busy.remove(key);
                }
            }
        }
    }

    private static <T> void run(String key, Pending<T> p, boolean waited) {
        try {
            p.done().complete(p.work().apply(waited));
        } catch (RuntimeException e) {
            log.error("work for {} failed", key, e);
            p.done().completeExceptionally(e);
        }
    }

    /** Stops taking work; running work ends on its own (daemon threads). */
    @Override
    public void close() {
        pool.shutdownNow();
    }
}
