package gpufleet.control.dashboard;

import gpufleet.control.db.Database;
import gpufleet.control.db.SingletonJob;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;

/**
 * Samples the fleet once a minute for the dashboard's charts: each ready host's GPU telemetry
 * (as its last inventory report left it in the gpus rows) and the GPUs each tenant holds per
 * model. Heartbeats and reports pay nothing for this; a round costs one row per host, one per
 * tenant and model, and a scan of gpus. Every replica ticks; the first to claim the minute in
 * telemetry_rounds samples it, under an advisory lock so the others skip at once.
 */
final class TelemetrySampler implements AutoCloseable {
    static final long LOCK_KEY = 0x6770_7566_0005L;
    static final Duration TELEMETRY_KEPT = Duration.ofHours(2);
    static final Duration USAGE_KEPT = Duration.ofDays(2);
    /** Operators' recent history (gpuctl describe, GET /v1/events). */
    static final Duration EVENTS_KEPT = Duration.ofDays(7);
    /** Often enough that a minute is sampled early in it, even after a restart. */
    private static final Duration TICK = Duration.ofSeconds(10);

    private final Database db;
    private SingletonJob job;

    TelemetrySampler(Database db) {
        this.db = db;
    }

    /** Starts ticking (the server is up). */
    synchronized void start() {
        if (job == null) {
            job = new SingletonJob("telemetry-sampler", TICK, this::sampleThisMinute);
        }
    }

    /** Samples the current minute unless a replica already did (or is doing so now). */
    private void sampleThisMinute() {
        SingletonJob.underLock(db, LOCK_KEY, c -> sample(c, null) ? 1 : 0);
    }

    /**
     * Samples the fleet as it is now, recorded at {@code at} (null: the database's current
     * minute). Tests pass past minutes to build an hour of history through the same statements.
     */
    boolean sampleAt(Instant at) {
        return db.tx(c -> sample(c, at));
    }

    private static boolean sample(Connection c, Instant at) throws SQLException {
        Timestamp round = claimRound(c, at);
        if (round == null) {
            return false;
        }
        try (PreparedStatement telemetry = c.prepareStatement("""
                INSERT INTO gpu_telemetry (host_id, sampled_at, gpu_uuids, utilization_gpu, memory_used_bytes,
                    temperature_c, power_mw)
                SELECT g.host_id, ?, array_agg(g.uuid ORDER BY g.idx), array_agg(g.utilization_gpu ORDER BY g.idx),
                       array_agg(g.memory_used_bytes ORDER BY g.idx), array_agg(g.temperature_c ORDER BY g.idx),
                       array_agg(g.power_mw ORDER BY g.idx)
                FROM gpus g JOIN hosts h ON h.id = g.host_id
                WHERE g.present AND h.liveness = 'ready'
                GROUP BY g.host_id
                ON CONFLICT DO NOTHING""");
             PreparedStatement usage = c.prepareStatement("""
                INSERT INTO tenant_gpu_usage (tenant, gpu_model, sampled_at, gpus)
                SELECT a.tenant, g.model, ?, count(*)
                FROM gpu_allocations a JOIN gpus g ON g.uuid = a.gpu_uuid
                WHERE a.released_at IS NULL
                GROUP BY a.tenant, g.model
                ON CONFLICT DO NOTHING""")) {
            telemetry.setTimestamp(1, round);
            telemetry.executeUpdate();
            usage.setTimestamp(1, round);
            usage.executeUpdate();
        }
        prune(c);
        return true;
    }

    /** The round's timestamp, or null when that minute was already sampled. */
    private static Timestamp claimRound(Connection c, Instant at) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO telemetry_rounds (sampled_at) VALUES (coalesce(?, date_trunc('minute', now())))
                ON CONFLICT DO NOTHING RETURNING sampled_at""")) {
            ps.setTimestamp(1, at == null ? null : Timestamp.from(at));
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getTimestamp(1) : null;
            }
        }
    }

    private static void prune(Connection c) throws SQLException {
        try (PreparedStatement telemetry = c.prepareStatement(
                "DELETE FROM gpu_telemetry WHERE sampled_at < now() - make_interval(secs => ?)");
             PreparedStatement usage = c.prepareStatement(
                "DELETE FROM tenant_gpu_usage WHERE sampled_at < now() - make_interval(secs => ?)");
             PreparedStatement rounds = c.prepareStatement(
                "DELETE FROM telemetry_rounds WHERE sampled_at < now() - make_interval(secs => ?)");
             PreparedStatement sessions = c.prepareStatement("DELETE FROM dashboard_sessions WHERE expires_at < now()");
             PreparedStatement events = c.prepareStatement("DELETE FROM events WHERE at < now() - make_interval(secs => ?)")) {
            telemetry.setLong(1, TELEMETRY_KEPT.toSeconds());
            telemetry.executeUpdate();
            usage.setLong(1, USAGE_KEPT.toSeconds());
            usage.executeUpdate();
            rounds.setLong(1, USAGE_KEPT.toSeconds());
            rounds.executeUpdate();
            sessions.executeUpdate();
            events.setLong(1, EVENTS_KEPT.toSeconds());
            events.executeUpdate();
        }
    }

    @Override
    public synchronized void close() {
        if (job != null) {
            job.close();
            job = null;
        }
    }
}
