package gpufleet.control.workload;

import gpufleet.common.Json;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.control.db.Database;
import gpufleet.control.db.SingletonJob;
import gpufleet.control.placement.Fit;
import gpufleet.control.placement.KnownMisfits;
import gpufleet.control.placement.PlacementLatency;
import gpufleet.control.placement.Placer;
import java.io.IOException;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Retries placement of pending workloads as GPUs come free or hosts join. Every replica runs the
 * timer; an advisory lock lets one of them work each round. Fair across tenants: the pass takes
 * each tenant's oldest pending workload, then each one's second, and so on, and skips a request
 * once one no larger has not fit in the pass; so a tenant with many pods that cannot be placed
 * neither fills the pass nor costs it one attempt per pod.
 */
public final class PendingPlacer implements AutoCloseable {
    static final long LOCK_KEY = 0x6770_7566_0003L;
    /** Workloads looked at per pass; those of a known misfit's shape cost no statement. */
    static final int PER_PASS = 200;
    /** Round-robin by tenant: each tenant's n-th oldest pending workload comes in turn n. */
    private static final String PENDING = """
            SELECT p.id, p.tenant, p.spec, p.gpu_model, (extract(epoch FROM clock_timestamp() - p.created_at) * 1000)::bigint FROM (
                SELECT w.id, w.tenant, w.spec::text AS spec, o.gpu_model, w.created_at,
                       row_number() OVER (PARTITION BY w.tenant ORDER BY w.created_at, w.id) AS turn
                FROM workloads w JOIN offerings o ON o.name = w.offering
                WHERE w.phase = 'pending' AND w.deletion_requested_at IS NULL) p
            ORDER BY p.turn, p.created_at, p.id LIMIT ?""";

    private final Database db;
    private final Wakeups wakeups;
    private final SingletonJob job;
    private final PlacementLatency latency;

    public PendingPlacer(Database db, Wakeups wakeups, Duration interval, PlacementLatency latency) {
        this.db = db;
        this.latency = latency;
        this.wakeups = wakeups;
        this.job = new SingletonJob("pending-placer", interval, this::runOnce);
    }

    /** {@code ageMillis}: how long the workload had waited when the pass read it (database clock). */
    private record Pending(UUID id, String tenant, WorkloadSpec spec, String model, long ageMillis) {}

    /** What one pass did: workloads placed, placement attempts made, workloads skipped as known misfits. */
    public record Pass(int placed, int attempts, int skipped) {}

    /** One round; returns how many workloads were placed, -1 when another replica holds the lock. */
    public int runOnce() {
        Pass p = pass();
        return p == null ? -1 : p.placed();
    }

    /** One round; null when another replica holds the lock. */
    public Pass pass() {
        List<UUID> hosts = new ArrayList<>();
        List<Duration> waits = new ArrayList<>();
        Pass[] done = new Pass[1];
        int ran = SingletonJob.underLock(db, LOCK_KEY, c -> {
            List<Pending> pending = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement(PENDING)) {
                ps.setInt(1, PER_PASS);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        pending.add(new Pending(rs.getObject(1, UUID.class), rs.getString(2), spec(rs.getString(3)), rs.getString(4),
                                rs.getLong(5)));
                    }
                }
            }
            long read = System.nanoTime();
            KnownMisfits misfits = new KnownMisfits();
            int attempts = 0;
            int skipped = 0;
            for (Pending p : pending) {
                Fit.Request r = Placer.request(p.spec(), p.model());
                if (misfits.covers(r)) {
                    skipped++;
                    continue;
                }
                attempts++;
                Fit.Decision d = Placer.placeIfPending(c, p.id(), p.tenant(), p.spec(), p.model(), false);
                if (d instanceof Fit.Placed placed) {
                    hosts.add(placed.hostId());
                    waits.add(Duration.ofMillis(p.ageMillis()).plusNanos(System.nanoTime() - read));
                } else if (d instanceof Fit.Misfit) {
                    misfits.add(r);
                }
            }
            done[0] = new Pass(hosts.size(), attempts, skipped);
            return hosts.size();
        });
        hosts.forEach(wakeups::changed);
        // Recorded once the pass committed: a pass that failed placed nothing.
        waits.forEach(latency::placedOnRetry);
        return ran < 0 ? null : done[0];
    }

    private static WorkloadSpec spec(String json) {
        try {
            return Json.mapper().readValue(json, WorkloadSpec.class);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        job.close();
    }
}
