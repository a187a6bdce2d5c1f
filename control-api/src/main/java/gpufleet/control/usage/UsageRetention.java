package gpufleet.control.usage;

import gpufleet.control.db.Database;
import gpufleet.control.db.SingletonJob;
import java.sql.PreparedStatement;
import java.time.Duration;

/**
 * Prunes usage intervals that ended more than the retention period ago
 * (GPUFLEET_USAGE_RETENTION_MONTHS, default 13: a year of bills plus a month to dispute the
 * last). Open intervals are never pruned, however old. One replica per round (advisory lock);
 * each round deletes at most a batch, so a first run after a long pause never holds a long
 * transaction, and the next round goes on.
 */
public final class UsageRetention implements AutoCloseable {
    static final long LOCK_KEY = 0x6770_7566_0006L;
    static final int BATCH = 50_000;
    private static final Duration INTERVAL = Duration.ofHours(1);
    /**
     * Calendar months back from the database's clock; the index on the interval's end
     * (usage_intervals_end) finds the old ones without reading the rest. The lower bound holds
     * for every row and is there for the planner (see UsageQueries: one bound alone is a third
     * of the table to a plan made before ANALYZE, and a whole scan).
     */
    static final String PRUNE = """
            DELETE FROM usage_intervals WHERE allocation_id IN (
                SELECT allocation_id FROM usage_intervals
                WHERE coalesce(ended_at, 'infinity') < usage_clock() - make_interval(months => ?)
                  AND coalesce(ended_at, 'infinity') >= '-infinity'
                LIMIT ?)""";

    private final Database db;
    private final int months;
    private final SingletonJob job;

    public UsageRetention(Database db, int months) {
        this.db = db;
        this.months = months;
        this.job = new SingletonJob("usage-retention", INTERVAL, this::runOnce);
    }

    /** One round; returns how many intervals were pruned, or -1 when another replica holds the lock. */
    public int runOnce() {
        return SingletonJob.underLock(db, LOCK_KEY, c -> {
            try (PreparedStatement ps = c.prepareStatement(PRUNE)) {
                ps.setInt(1, months);
                ps.setInt(2, BATCH);
                return ps.executeUpdate();
            }
        });
    }

    @Override
    public void close() {
        job.close();
    }
}
