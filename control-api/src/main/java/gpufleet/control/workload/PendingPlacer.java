package gpufleet.control.workload;

import gpufleet.common.Json;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.control.db.Database;
import gpufleet.control.db.SingletonJob;
import java.io.IOException;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Retries placement of pending workloads, oldest first, as GPUs come free or hosts join. Every
 * replica runs the timer; an advisory lock lets one of them work each round.
 */
public final class PendingPlacer implements AutoCloseable {
    static final long LOCK_KEY = 0x6770_7566_0003L;

    private final Database db;
    private final Wakeups wakeups;
    private final SingletonJob job;

    public PendingPlacer(Database db, Wakeups wakeups, Duration interval) {
        this.db = db;
        this.wakeups = wakeups;
        this.job = new SingletonJob("pending-placer", interval, this::runOnce);
    }

    private record Pending(UUID id, String tenant, WorkloadSpec spec, String model) {}

    /** One round; returns how many workloads were placed, -1 when another replica holds the lock. */
    public int runOnce() {
        List<UUID> hosts = new ArrayList<>();
        int done = SingletonJob.underLock(db, LOCK_KEY, c -> {
            List<Pending> pending = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("""
                    SELECT w.id, w.tenant, w.spec::text, o.gpu_model FROM workloads w JOIN offerings o ON o.name = w.offering
                    WHERE w.phase = 'pending' AND w.deletion_requested_at IS NULL ORDER BY w.created_at LIMIT 100""");
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    pending.add(new Pending(rs.getObject(1, UUID.class), rs.getString(2), spec(rs.getString(3)), rs.getString(4)));
                }
            }
            int placed = 0;
            for (Pending p : pending) {
                WorkloadStore.place(c, p.id(), p.tenant(), p.spec(), p.model());
                try (PreparedStatement ps = c.prepareStatement("SELECT phase, host_id FROM workloads WHERE id = ?")) {
                    ps.setObject(1, p.id());
                    try (ResultSet rs = ps.executeQuery()) {
                        if (rs.next() && rs.getString(1).equals("placed")) {
                            placed++;
                            hosts.add(rs.getObject(2, UUID.class));
                        }
                    }
                }
            }
            return placed;
        });
        hosts.forEach(wakeups::changed);
        return done;
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
