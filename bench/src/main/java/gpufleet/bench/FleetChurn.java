package gpufleet.bench;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Background writes on a seeded fleet, straight into the database with the statements' effects
 * that production's writes have on the rows operators see: each host's GPU telemetry rewritten
 * every few seconds (as a host-agent's report does), and placements and releases of single GPUs
 * on random hosts. Ticks every 100 ms on two connections.
 */
final class FleetChurn implements AutoCloseable {
    static final String[] TENANTS = {"bench-a", "bench-b", "bench-c"};
    private static final int TICKS_PER_SECOND = 10;
    private static final String TELEMETRY = """
            UPDATE gpus SET utilization_gpu = (random() * 100)::int, temperature_c = 35 + (random() * 45)::int,
                power_mw = 60000 + (random() * 240000)::bigint, updated_at = now()
            WHERE host_id = ANY (?::uuid[])""";
    private static final String PLACE = """
            WITH g AS (SELECT uuid FROM gpus WHERE host_id = ?::uuid AND healthy AND NOT allocated LIMIT 1 FOR UPDATE SKIP LOCKED),
                 a AS (INSERT INTO gpu_allocations (gpu_uuid, tenant) SELECT uuid, ? FROM g)
            UPDATE gpus SET allocated = true WHERE uuid IN (SELECT uuid FROM g)""";
    private static final String RELEASE = """
            WITH r AS (UPDATE gpu_allocations SET released_at = now()
                       WHERE id = (SELECT a.id FROM gpu_allocations a JOIN gpus g ON g.uuid = a.gpu_uuid
                                   WHERE g.host_id = ?::uuid AND a.released_at IS NULL LIMIT 1 FOR UPDATE OF a SKIP LOCKED)
                       RETURNING gpu_uuid)
            UPDATE gpus SET allocated = false WHERE uuid IN (SELECT gpu_uuid FROM r)""";

    private final List<FleetSeed.SeededHost> fleet;
    private final int gpusPerHost;
    private final Connection telemetry;
    private final Connection placement;
    private final ScheduledExecutorService timer = Executors.newScheduledThreadPool(2);
    private final AtomicLong hostsReported = new AtomicLong();
    private final AtomicLong placed = new AtomicLong();
    private final AtomicLong released = new AtomicLong();
    private final long started = System.nanoTime();

    FleetChurn(Db db, String name, List<FleetSeed.SeededHost> fleet, int gpusPerHost, int telemetryEverySeconds,
               int placementsPerSecond) throws SQLException {
        this.fleet = fleet;
        this.gpusPerHost = gpusPerHost;
        this.telemetry = db.connect(name);
        this.placement = db.connect(name);
        int hostsPerTick = Math.max(1, fleet.size() / telemetryEverySeconds / TICKS_PER_SECOND);
        int placementsPerTick = Math.max(1, placementsPerSecond / TICKS_PER_SECOND);
        long tick = 1000 / TICKS_PER_SECOND;
        timer.scheduleAtFixedRate(() -> report(hostsPerTick), 0, tick, TimeUnit.MILLISECONDS);
        timer.scheduleAtFixedRate(() -> placeAndRelease(placementsPerTick), 0, tick, TimeUnit.MILLISECONDS);
    }

    /** 40% of GPUs allocated to three tenants, 1% unhealthy, every 50th host cordoned. */
    static void allocateSome(Connection c) throws SQLException {
        c.setAutoCommit(true);
        try (Statement s = c.createStatement()) {
            for (String t : TENANTS) {
                s.execute("INSERT INTO tenants (name) VALUES ('" + t + "') ON CONFLICT DO NOTHING");
            }
            s.execute("""
                    INSERT INTO gpu_allocations (gpu_uuid, tenant)
                    SELECT uuid, (ARRAY['bench-a', 'bench-b', 'bench-c'])[1 + abs(hashtext(uuid)) % 3]
                    FROM gpus WHERE abs(hashtext(uuid || 'a')) % 10 < 4""");
            s.execute("UPDATE gpus SET allocated = true WHERE uuid IN (SELECT gpu_uuid FROM gpu_allocations)");
            s.execute("""
                    UPDATE gpus SET healthy = false, health_reason = 'Xid 79: GPU has fallen off the bus'
                    WHERE abs(hashtext(uuid || 'u')) % 100 = 0""");
            s.execute("UPDATE hosts SET cordoned = true WHERE right(name, 5)::int % 50 = 0");
            s.execute("VACUUM ANALYZE");
        }
    }

    private void report(int hosts) {
        try (PreparedStatement ps = telemetry.prepareStatement(TELEMETRY)) {
            UUID[] ids = new UUID[hosts];
            for (int i = 0; i < hosts; i++) {
                ids[i] = random().id();
            }
            ps.setArray(1, telemetry.createArrayOf("uuid", ids));
            ps.executeUpdate();
            hostsReported.addAndGet(hosts);
        } catch (SQLException e) {
            System.err.println("churn: telemetry failed: " + e.getMessage());
        }
    }

    private void placeAndRelease(int n) {
        try (PreparedStatement place = placement.prepareStatement(PLACE);
             PreparedStatement release = placement.prepareStatement(RELEASE)) {
            for (int i = 0; i < n; i++) {
                place.setString(1, random().id().toString());
                place.setString(2, TENANTS[i % TENANTS.length]);
                placed.addAndGet(place.executeUpdate());
                release.setString(1, random().id().toString());
                released.addAndGet(release.executeUpdate());
            }
        } catch (SQLException e) {
            System.err.println("churn: placement failed: " + e.getMessage());
        }
    }

    private FleetSeed.SeededHost random() {
        return fleet.get(ThreadLocalRandom.current().nextInt(fleet.size()));
    }

    /** What the churn achieved since it started, per second. */
    String rates() {
        double s = (System.nanoTime() - started) / 1e9;
        return String.format("%.0f host telemetry reports/s (%.0f GPU rows/s), %.0f placements/s, %.0f releases/s",
                hostsReported.get() / s, hostsReported.get() * gpusPerHost / s, placed.get() / s, released.get() / s);
    }

    @Override
    public void close() throws Exception {
        timer.shutdownNow();
        timer.awaitTermination(10, TimeUnit.SECONDS);
        telemetry.close();
        placement.close();
    }
}
