package gpufleet.control.ops;

import gpufleet.control.db.Database;
import gpufleet.control.db.SingletonJob;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The fleet figures the in-memory summary lacks: heartbeat lag and pending workloads. Each
 * replica reads them in the background every round (two aggregates: a scan of one small row per
 * host, and the pending index), so a scrape never waits for the database and a create pays
 * nothing. The round's own duration is a database latency probe for the "database slow" alert.
 */
public final class FleetProbe implements AutoCloseable {
    /** The lag thresholds hosts are counted against: one figure each, whatever the fleet's size. */
    static final int[] LATE_AFTER_SECONDS = {10, 20, 30, 60, 120, 300};
    /**
     * Hosts named in a series of their own: only those later than the threshold, the latest
     * first, at most this many. A rack or a site going dark makes hundreds late at once; their
     * count is in the thresholds, and a hundred names are enough to act on.
     */
    static final int MOST_NAMED = 100;
    /** The probe is a read; past this the database is slow, and the figures keep their last values. */
    private static final int STATEMENT_TIMEOUT_MS = 2_000;

    /** What a round read; {@code lateHosts} maps a host's name to its lag, latest first. */
    public record Reading(long[] lateCounts, double maxLagSeconds, Map<String, Double> lateHosts, long pending,
                          double oldestPendingSeconds, double probeSeconds, long atMillis) {}

    private final Database db;
    private final double namedOverSeconds;
    private final SingletonJob loop;
    private volatile Reading last;
    private volatile long failures;

    /** {@code namedOver}: a host later than this gets its own series (half the heartbeat grace by default). */
    public FleetProbe(Database db, Duration namedOver, Duration interval) {
        this.db = db;
        this.namedOverSeconds = namedOver.toMillis() / 1000.0;
        this.loop = new SingletonJob("fleet-probe", interval, this::probe);
    }

    /** The last reading; null before the first one succeeded. */
    public Reading last() {
        return last;
    }

    /** Rounds that failed (database down or past the statement timeout). */
    public long failures() {
        return failures;
    }

    void probe() {
        long started = System.nanoTime();
        try {
            last = db.tx(c -> {
                try (Statement s = c.createStatement()) {
                    s.execute("SET TRANSACTION READ ONLY");
                    s.execute("SET LOCAL statement_timeout = " + STATEMENT_TIMEOUT_MS);
                }
                Reading lag = heartbeats(c);
                try (PreparedStatement ps = c.prepareStatement("""
                        SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)
                        FROM workloads WHERE phase = 'pending' AND deletion_requested_at IS NULL""");
                     ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return new Reading(lag.lateCounts(), lag.maxLagSeconds(), lag.lateHosts(), rs.getLong(1), rs.getDouble(2),
                            (System.nanoTime() - started) / 1e9, System.currentTimeMillis());
                }
            });
        } catch (RuntimeException e) {
            failures++;
            throw e;
        }
    }

    /** Lag counts per threshold, the largest lag, and the latest hosts past the naming threshold. Lost hosts are left out. */
    private Reading heartbeats(Connection c) throws SQLException {
        StringBuilder counts = new StringBuilder();
        for (int after : LATE_AFTER_SECONDS) {
            counts.append("count(*) FILTER (WHERE lag > ").append(after).append("), ");
        }
        long[] late = new long[LATE_AFTER_SECONDS.length];
        double max;
        String lags = """
                SELECT h.name, extract(epoch FROM now() - b.seen_at) AS lag
                FROM hosts h JOIN host_heartbeats b ON b.host_id = h.id WHERE h.liveness <> 'lost'""";
        try (PreparedStatement ps = c.prepareStatement("SELECT " + counts + "coalesce(max(lag), 0) FROM (" + lags + ") l");
             ResultSet rs = ps.executeQuery()) {
            rs.next();
            for (int i = 0; i < late.length; i++) {
                late[i] = rs.getLong(i + 1);
            }
            max = rs.getDouble(late.length + 1);
        }
        Map<String, Double> named = new LinkedHashMap<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT name, lag FROM (" + lags + ") l WHERE lag > ? ORDER BY lag DESC, name LIMIT ?")) {
            ps.setDouble(1, namedOverSeconds);
            ps.setInt(2, MOST_NAMED);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    named.put(rs.getString(1), rs.getDouble(2));
                }
            }
        }
        return new Reading(late, max, named, 0, 0, 0, 0);
    }

    @Override
    public void close() {
        loop.close();
    }
}
