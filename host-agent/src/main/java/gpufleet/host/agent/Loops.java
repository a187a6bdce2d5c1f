package gpufleet.host.agent;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's loops, each on its own thread, supervised. A loop calls {@link #turn} at the top
 * of every round; a turn after the first marks the round before it as done. A loop that throws
 * an exception, or returns while the agent runs, is started again in place after a back-off; a
 * loop that dies of an {@link Error} (out of memory, most likely) is handed to {@link Fatal},
 * which ends the process so that systemd starts a clean one. A loop whose last round finished
 * longer ago than its deadline is stale: {@link #stale} names it, and the agent withholds its
 * heartbeat so that the control-api marks the host not ready and places nothing on it.
 */
final class Loops implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Loops.class);

    /** What to do when a loop dies of an Error; the agent's process exits, tests record it. */
    interface Fatal {
        void died(String loop, Throwable error);
    }

    /** Exit status when a loop died of an Error: EX_SOFTWARE; systemd's Restart=on-failure starts the agent again. */
    static final int DIED = 70;

    /**
     * Halts rather than exits: shutdown hooks need heap and threads that may be gone, and none is
     * needed for a restart (containers run on under Docker; the next agent adopts them).
     */
    static final Fatal EXIT = (loop, error) -> {
        try {
            log.error("loop {} died of {}; exiting with status {} so that a clean agent is started", loop, error, DIED);
        } finally {
            Runtime.getRuntime().halt(DIED);
        }
    };

    /**
     * A seam for tests: runs at every turn of a loop and may throw or block there, standing in
     * for a bug or a call that hangs. The agent uses {@link #NONE}.
     */
    interface Faults {
        Faults NONE = loop -> { };

        void at(String loop) throws InterruptedException;
    }

    private final Fatal fatal;
    private final Faults faults;
    private final Map<Thread, Loop> byThread = new ConcurrentHashMap<>();
    private final List<Loop> loops = new ArrayList<>();
    private volatile boolean running = true;

    Loops(Fatal fatal, Faults faults) {
        this.fatal = fatal;
        this.faults = faults;
    }

    private static final class Loop {
        final String name;
        final Duration deadline;
        final Runnable body;
        final AtomicLong rounds = new AtomicLong();
        final AtomicLong restarts = new AtomicLong();
        volatile long lastRoundNanos = System.nanoTime();
        volatile boolean inRound;
        volatile Thread thread;

        Loop(String name, Duration deadline, Runnable body) {
            this.name = name;
            this.deadline = deadline;
            this.body = body;
        }
    }

    /** Starts {@code body} on a thread named {@code name}; a round of it must finish within {@code deadline}. */
    synchronized void spawn(String name, Duration deadline, Runnable body) {
        Loop loop = new Loop(name, deadline, body);
        loops.add(loop);
        Thread t = new Thread(() -> supervise(loop), name);
        t.setDaemon(true);
        loop.thread = t;
        byThread.put(t, loop);
        t.start();
    }

    private void supervise(Loop loop) {
        Backoff backoff = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(60));
        while (running) {
            loop.inRound = false;
            try {
                loop.body.run();
                if (!running) {
                    return;
                }
                log.error("loop {} ended while the agent runs; starting it again", loop.name);
            } catch (RuntimeException e) {
                if (!running) {
                    return;
                }
                log.error("loop {} failed; starting it again", loop.name, e);
            } catch (Error e) {
                // The heap or the stack is gone: this process cannot be trusted to recover in place.
                fatal.died(loop.name, e);
                return;
            }
            loop.restarts.incrementAndGet();
            try {
                Thread.sleep(backoff.next().toMillis());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /**
     * Called by a loop at the top of each round: false once the agent stops. The round before
     * this one is done, so the loop is not stale for another deadline.
     */
    boolean turn() {
        Loop loop = byThread.get(Thread.currentThread());
        if (loop != null) {
            if (loop.inRound) {
                loop.rounds.incrementAndGet();
                loop.lastRoundNanos = System.nanoTime();
            }
            loop.inRound = true;
            try {
                faults.at(loop.name);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return running;
    }

    /** The loops whose last round finished longer ago than their deadline, or that are dead. */
    List<String> stale() {
        long now = System.nanoTime();
        List<String> out = new ArrayList<>();
        synchronized (this) {
            for (Loop l : loops) {
                if (!l.thread.isAlive() || now - l.lastRoundNanos > l.deadline.toNanos()) {
                    out.add(l.name);
                }
            }
        }
        return out;
    }

    /** Rounds a loop has finished, and times it was started again; for tests and logs. */
    record Health(long rounds, long restarts) {}

    synchronized Health health(String name) {
        for (Loop l : loops) {
            if (l.name.equals(name)) {
                return new Health(l.rounds.get(), l.restarts.get());
            }
        }
        return new Health(0, 0);
    }

    /** Stops every loop and waits a little for each. */
    @Override
    public void close() {
        running = false;
        List<Loop> all;
        synchronized (this) {
            all = List.copyOf(loops);
        }
        all.forEach(l -> l.thread.interrupt());
        for (Loop l : all) {
            try {
                l.thread.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
