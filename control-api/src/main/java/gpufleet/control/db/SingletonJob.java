package gpufleet.control.db;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A job every replica schedules and exactly one runs per round: the round runs in a transaction
 * that first takes a transaction-scoped advisory lock, and is skipped where the lock is taken.
 */
public final class SingletonJob implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SingletonJob.class);

    @FunctionalInterface
    public interface Round {
        int run(Connection c) throws SQLException;
    }

    private final ScheduledExecutorService timer;

    /** Schedules {@code round} every {@code interval}; a failed round is logged and the next one tried. */
    public SingletonJob(String name, Duration interval, Runnable round) {
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(() -> {
            try {
                round.run();
            } catch (RuntimeException e) {
                log.warn("{} round skipped: {}", name, e.getMessage());
            }
        }, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Runs {@code round} under the advisory lock {@code key}; returns -1 when another replica holds it. */
    public static int underLock(Database db, long key, Round round) {
        return db.tx(c -> {
            try (PreparedStatement lock = c.prepareStatement("SELECT pg_try_advisory_xact_lock(?)")) {
                lock.setLong(1, key);
                try (ResultSet rs = lock.executeQuery()) {
                    rs.next();
                    if (!rs.getBoolean(1)) {
                        return -1;
                    }
                }
            }
            return round.run(c);
        });
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
