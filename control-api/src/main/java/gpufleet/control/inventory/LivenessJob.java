package gpufleet.control.inventory;

import gpufleet.control.db.Database;
import gpufleet.control.db.SingletonJob;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Marks hosts that stopped heartbeating: {@code not-ready} after the grace period, {@code lost}
 * after the longer lost period. Every replica runs the timer; a transaction-scoped advisory lock
 * lets exactly one of them do the work each round. Time comes from the database, not the replica.
 */
public final class LivenessJob implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LivenessJob.class);
    static final long LOCK_KEY = 0x6770_7566_0002L;

    private final Database db;
    private final Duration grace;
    private final Duration lostAfter;
    private final SingletonJob job;

    public LivenessJob(Database db, Duration grace, Duration lostAfter, Duration interval) {
        this.db = db;
        this.grace = grace;
        this.lostAfter = lostAfter;
        this.job = new SingletonJob("liveness", interval, this::runOnce);
    }

    /** One round; returns how many hosts changed state, or -1 when another replica holds the lock. */
    public int runOnce() {
        return SingletonJob.underLock(db, LOCK_KEY, c -> {
            int changed = mark(c, "not-ready", "'ready'", grace) + mark(c, "lost", "'ready', 'not-ready'", lostAfter);
            releaseLost(c);
            return changed;
        });
    }

    private static int mark(Connection c, String to, String from, Duration after) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                UPDATE hosts h SET liveness = '%s', liveness_changed_at = now()
                FROM host_heartbeats b
                WHERE b.host_id = h.id AND h.liveness IN (%s) AND b.seen_at < now() - make_interval(secs => ?)
                RETURNING h.name""".formatted(to, from))) {
            ps.setDouble(1, after.toMillis() / 1000.0);
            List<String> names = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    names.add(rs.getString(1));
                }
            }
            if (!names.isEmpty()) {
                // One line per round, not per host: a rack losing power must not flood the log.
                log.warn("{} host(s) now {} (no heartbeat for more than {}s): {}{}", names.size(), to, after.toSeconds(),
                        String.join(", ", names.subList(0, Math.min(10, names.size()))), names.size() > 10 ? ", …" : "");
            }
            return names.size();
        }
    }

    /**
     * A lost host's workloads fail and their GPUs come free. They were never placed elsewhere
     * before this point; a cut-off host stops its own containers well before it is declared lost.
     * <p>Their usage intervals (V27) end at the host's last heartbeat, not now: that is the last
     * moment the provider can show the pod was served. The GPUs stay held until now only so that
     * no second copy can run on them; that wait is the provider's outage, not the tenant's use,
     * and billing it would charge the tenant for the grace and lost periods of a dead host.
     */
    private static void releaseLost(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                WITH gone AS (
                    UPDATE workloads w SET phase = 'failed', reason = 'HostLost', deleted_at = now(), updated_at = now(),
                        message = 'host ' || h.name || ' stopped reporting and was declared lost'
                    FROM hosts h WHERE h.id = w.host_id AND h.liveness = 'lost' AND w.deleted_at IS NULL
                    RETURNING w.id),
                freed AS (
                    UPDATE gpu_allocations SET released_at = now()
                    WHERE released_at IS NULL AND workload_id IN (SELECT id FROM gone) RETURNING id, gpu_uuid),
                ended AS (
                    UPDATE usage_intervals u SET end_reason = 'host-lost',
                        ended_at = greatest(u.started_at, least(usage_clock(),
                                   coalesce((SELECT b.seen_at FROM host_heartbeats b WHERE b.host_id = u.host_id), usage_clock())))
                    WHERE u.allocation_id IN (SELECT id FROM freed))
                UPDATE gpus SET allocated = false WHERE uuid IN (SELECT gpu_uuid FROM freed)""")) {
            int released = ps.executeUpdate();
            if (released > 0) {
                log.warn("released {} GPU(s) of workloads on lost hosts", released);
            }
        }
    }

    @Override
    public void close() {
        job.close();
    }
}
