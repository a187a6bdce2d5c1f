package gpufleet.control.workload;

import gpufleet.common.Json;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.control.db.Database;
import java.io.IOException;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Retries placement of pending workloads, oldest first, as GPUs come free or hosts join. Every
 * replica runs the timer; an advisory lock lets one of them work each round.
 */
public final class PendingPlacer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PendingPlacer.class);
    static final long LOCK_KEY = 0x6770_7566_0003L;

    private final Database db;
    private final Wakeups wakeups;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "pending-placer");
        t.setDaemon(true);
        return t;
    });

    public PendingPlacer(Database db, Wakeups wakeups, Duration interval) {
        this.db = db;
        this.wakeups = wakeups;
        timer.scheduleWithFixedDelay(this::safeRun, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void safeRun() {
        try {
            runOnce();
        } catch (RuntimeException e) {
            log.warn("pending placement round skipped: {}", e.getMessage());
        }
    }

    private record Pending(UUID id, String tenant, WorkloadSpec spec, String model) {}

    /** One round; returns how many workloads were placed, -1 when another replica holds the lock. */
    public int runOnce() {
        List<UUID> hosts = new ArrayList<>();
        int done = db.tx(c -> {
            try (PreparedStatement lock = c.prepareStatement("SELECT pg_try_advisory_xact_lock(?)")) {
                lock.setLong(1, LOCK_KEY);
                try (ResultSet rs = lock.executeQuery()) {
                    rs.next();
                    if (!rs.getBoolean(1)) {
                        return -1;
                    }
                }
            }
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
        timer.shutdownNow();
    }
}
