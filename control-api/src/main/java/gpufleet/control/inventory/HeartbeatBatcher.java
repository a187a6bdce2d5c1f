package gpufleet.control.inventory;

import gpufleet.control.db.Database;
import java.sql.PreparedStatement;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Group commit for heartbeats. Each heartbeat waits for the batch that carries it to commit
 * (so an acknowledged heartbeat is durable), but one transaction serves every heartbeat that
 * arrived meanwhile: under load thousands of hosts share one fsync.
 */
public final class HeartbeatBatcher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HeartbeatBatcher.class);
    private static final int MAX_BATCH = 2_000;

    private record Beat(UUID hostId, CompletableFuture<Void> done) {}

    /** Answers handed to one task of the answering pool at a time. */
    private static final int ANSWERS_PER_TASK = 64;

    private final Database db;
    private final LinkedBlockingQueue<Beat> queue = new LinkedBlockingQueue<>();
    private final Thread writer;
    /**
     * Completing a heartbeat's future writes its HTTP answer on the completing thread. Done on the
     * writer, that would make one thread answer every host, and cap the rate near what one core
     * can write; a pool answers in parallel while the writer commits the next batch.
     */
    private final ExecutorService answers;
    private volatile boolean running = true;

    public HeartbeatBatcher(Database db) {
        this.db = db;
        AtomicInteger n = new AtomicInteger();
        this.answers = Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()), r -> {
            Thread t = new Thread(r, "heartbeat-answer-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.writer = new Thread(this::loop, "heartbeat-writer");
        this.writer.setDaemon(true);
        this.writer.start();
    }

    /** Completes when the heartbeat is committed; fails if the database refused the batch. */
    public CompletableFuture<Void> beat(UUID hostId) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        if (!running) {
            done.completeExceptionally(new IllegalStateException("control-api is shutting down"));
            return done;
        }
        queue.add(new Beat(hostId, done));
        return done;
    }

    private void loop() {
        List<Beat> batch = new ArrayList<>();
        while (running || !queue.isEmpty()) {
            try {
                Beat first = queue.poll(200, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                queue.drainTo(batch, MAX_BATCH - 1);
                write(batch);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } finally {
                batch.clear();
            }
        }
    }

    private void write(List<Beat> batch) {
        // The same host twice in one batch is one row update; keep order stable to avoid deadlocks.
        Map<UUID, List<CompletableFuture<Void>>> byHost = new LinkedHashMap<>();
        for (Beat b : batch) {
            byHost.computeIfAbsent(b.hostId(), k -> new ArrayList<>()).add(b.done());
        }
        UUID[] ids = byHost.keySet().stream().sorted().toArray(UUID[]::new);
        try {
            db.tx(c -> {
                try (PreparedStatement beats = c.prepareStatement(
                        "UPDATE host_heartbeats SET seen_at = now() WHERE host_id = ANY (?)");
                     PreparedStatement back = c.prepareStatement("""
                             UPDATE hosts SET liveness = 'ready', liveness_changed_at = now()
                             WHERE id = ANY (?) AND liveness <> 'ready'""")) {
                    beats.setArray(1, c.createArrayOf("uuid", ids));
                    beats.executeUpdate();
                    back.setArray(1, c.createArrayOf("uuid", ids));
                    int revived = back.executeUpdate();
                    if (revived > 0) {
                        log.info("{} host(s) back to ready on heartbeat", revived);
                    }
                }
                return null;
            });
            answer(byHost.values(), null);
        } catch (RuntimeException e) {
            answer(byHost.values(), e);
        }
    }

    private void answer(Collection<List<CompletableFuture<Void>>> waiting, RuntimeException failure) {
        List<CompletableFuture<Void>> chunk = new ArrayList<>(ANSWERS_PER_TASK);
        for (List<CompletableFuture<Void>> list : waiting) {
            for (CompletableFuture<Void> f : list) {
                chunk.add(f);
                if (chunk.size() == ANSWERS_PER_TASK) {
                    submit(chunk, failure);
                    chunk = new ArrayList<>(ANSWERS_PER_TASK);
                }
            }
        }
        if (!chunk.isEmpty()) {
            submit(chunk, failure);
        }
    }

    private void submit(List<CompletableFuture<Void>> chunk, RuntimeException failure) {
        Runnable task = () -> chunk.forEach(f -> {
            if (failure == null) {
                f.complete(null);
            } else {
                f.completeExceptionally(failure);
            }
        });
        try {
            answers.execute(task);
        } catch (RejectedExecutionException e) {
            task.run(); // shutting down: answer here rather than never
        }
    }

    @Override
    public void close() {
        running = false;
        try {
            writer.join(5_000);
            answers.shutdown();
            answers.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
