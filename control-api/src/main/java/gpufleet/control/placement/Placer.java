package gpufleet.control.placement;

import com.fasterxml.jackson.core.type.TypeReference;
import gpufleet.common.Json;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Places one workload inside the caller's transaction. Proposes on a snapshot of the fleet, then
 * locks the chosen host's row and re-checks the fit on fresh data before writing allocations; the
 * unique index on live allocations refuses a double allocation even if this code were wrong.
 */
public final class Placer {
    private static final TypeReference<Map<String, String>> TOPOLOGY = new TypeReference<>() {};
    /**
     * Hosts that can take the request, in index order, stopping at the first few: a bounded
     * look like Nomad's limit iterator, so a placement costs the same in a fleet of ten hosts or
     * ten thousand. Hosts fill in a stable order, which is what bin-packing wants.
     */
    private static final String CANDIDATES = """
            SELECT g.host_id, min(h.name), count(*) AS n
            FROM gpus g JOIN hosts h ON h.id = g.host_id
            WHERE g.model = ? AND g.healthy AND g.present AND NOT g.allocated AND h.liveness = 'ready' AND NOT h.cordoned
              AND NOT EXISTS (SELECT 1 FROM gpu_allocations a WHERE a.gpu_uuid = g.uuid AND a.released_at IS NULL)
            GROUP BY g.host_id
            HAVING count(*) >= ?
               AND (SELECT i.allocatable_cpu_millis - coalesce((SELECT sum(w.cpu_millis) FROM workloads w
                        WHERE w.host_id = g.host_id AND w.deleted_at IS NULL), 0)
                    FROM host_inventory i WHERE i.host_id = g.host_id) >= ?
               AND (SELECT i.allocatable_memory_bytes - coalesce((SELECT sum(w.memory_bytes) FROM workloads w
                        WHERE w.host_id = g.host_id AND w.deleted_at IS NULL), 0)
                    FROM host_inventory i WHERE i.host_id = g.host_id) >= ?
            LIMIT 32""";
    /** Only for explaining a misfit: the most free GPUs of the model on any one ready host. */
    private static final String MOST_FREE = """
            SELECT h.id, h.name, count(*) AS n
            FROM gpus g JOIN hosts h ON h.id = g.host_id
            WHERE g.model = ? AND g.healthy AND g.present AND h.liveness = 'ready' AND NOT h.cordoned
              AND NOT EXISTS (SELECT 1 FROM gpu_allocations a WHERE a.gpu_uuid = g.uuid AND a.released_at IS NULL)
            GROUP BY h.id, h.name ORDER BY n DESC, h.name LIMIT 1""";

    private Placer() {}

    /** Places the workload or explains why not; writes allocations and the host only when placed. */
    public static Fit.Decision place(Connection c, UUID workloadId, String tenant, Fit.Request r, List<String> containers)
            throws SQLException {
        List<UUID> order = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(CANDIDATES)) {
            ps.setString(1, r.model());
            ps.setInt(2, r.gpus());
            ps.setLong(3, r.cpuMillis());
            ps.setLong(4, r.memoryBytes());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    order.add(rs.getObject(1, UUID.class));
                }
            }
        }
        if (order.isEmpty()) {
            return explain(c, r);
        }
        Fit.Misfit last = null;
        List<UUID> busy = new ArrayList<>();
        for (UUID host : order) {
            // Skip hosts another placement holds; a host that no longer fits is let go at once
            // (rolled back to its savepoint), so no transaction holds one lock while waiting for
            // another: no deadlocks.
            Savepoint sp = c.setSavepoint();
            if (!lock(c, host, true)) {
                c.rollback(sp);
                busy.add(host);
                continue;
            }
            Fit.Decision d = Fit.decide(r, List.of(fresh(c, host, r.model())));
            if (d instanceof Fit.Placed p) {
                write(c, workloadId, tenant, p, containers);
                return p;
            }
            c.rollback(sp);
            last = (Fit.Misfit) d;
        }
        if (!busy.isEmpty() && lock(c, busy.get(0), false)) {
            // Every fitting host was busy: wait for the first one, then check it afresh.
            Fit.Decision d = Fit.decide(r, List.of(fresh(c, busy.get(0), r.model())));
            if (d instanceof Fit.Placed p) {
                write(c, workloadId, tenant, p, containers);
                return p;
            }
            last = (Fit.Misfit) d;
        }
        return last != null ? last : explain(c, r);
    }

    /** Why nothing fits, described from the host with the most free GPUs of the model. */
    private static Fit.Misfit explain(Connection c, Fit.Request r) throws SQLException {
        List<Fit.HostFree> best = mostFree(c, r.model());
        Fit.Decision d = Fit.decide(r, best.isEmpty() ? best : List.of(fresh(c, best.get(0).hostId(), r.model())));
        return d instanceof Fit.Misfit m ? m
                : new Fit.Misfit("another placement took the free " + r.model() + " meanwhile; trying again shortly");
    }

    /** The host with the most free GPUs of the model, with placeholder GPUs: enough to say why nothing fits. */
    private static List<Fit.HostFree> mostFree(Connection c, String model) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(MOST_FREE)) {
            ps.setString(1, model);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return List.of();
                }
                List<Fit.FreeGpu> gpus = new ArrayList<>();
                for (int i = 0; i < rs.getInt(3); i++) {
                    gpus.add(new Fit.FreeGpu("?" + i, Map.of()));
                }
                return List.of(new Fit.HostFree(rs.getObject(1, UUID.class), rs.getString(2), gpus, Long.MAX_VALUE, Long.MAX_VALUE));
            }
        }
    }

    private static boolean lock(Connection c, UUID host, boolean skipLocked) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT id FROM hosts WHERE id = ? AND liveness = 'ready' AND NOT cordoned FOR UPDATE"
                + (skipLocked ? " SKIP LOCKED" : ""))) {
            ps.setObject(1, host);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** The host's free GPUs, cpu and memory, read after its row is locked. */
    private static Fit.HostFree fresh(Connection c, UUID host, String model) throws SQLException {
        List<Fit.FreeGpu> gpus = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT g.uuid, g.topology::text FROM gpus g
                WHERE g.host_id = ? AND g.model = ? AND g.healthy AND g.present
                  AND NOT EXISTS (SELECT 1 FROM gpu_allocations a WHERE a.gpu_uuid = g.uuid AND a.released_at IS NULL)
                ORDER BY g.idx""")) {
            ps.setObject(1, host);
            ps.setString(2, model);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    gpus.add(new Fit.FreeGpu(rs.getString(1), topology(rs.getString(2))));
                }
            }
        }
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT h.name, i.allocatable_cpu_millis - coalesce(sum(w.cpu_millis), 0),
                       i.allocatable_memory_bytes - coalesce(sum(w.memory_bytes), 0)
                FROM hosts h JOIN host_inventory i ON i.host_id = h.id
                LEFT JOIN workloads w ON w.host_id = h.id AND w.deleted_at IS NULL
                WHERE h.id = ? GROUP BY h.name, i.allocatable_cpu_millis, i.allocatable_memory_bytes""")) {
            ps.setObject(1, host);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return new Fit.HostFree(host, host.toString(), List.of(), 0, 0);
                }
                return new Fit.HostFree(host, rs.getString(1), gpus, rs.getLong(2), rs.getLong(3));
            }
        }
    }

    private static void write(Connection c, UUID workloadId, String tenant, Fit.Placed p, List<String> containers)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "INSERT INTO gpu_allocations (gpu_uuid, tenant, workload_id, container) VALUES (?, ?, ?, ?)")) {
            for (int i = 0; i < containers.size(); i++) {
                for (String uuid : p.gpus().get(i)) {
                    ps.setString(1, uuid);
                    ps.setString(2, tenant);
                    ps.setObject(3, workloadId);
                    ps.setString(4, containers.get(i));
                    ps.addBatch();
                }
            }
            ps.executeBatch();
        }
        try (PreparedStatement ps = c.prepareStatement("UPDATE gpus SET allocated = true WHERE uuid = ANY (?)")) {
            ps.setArray(1, c.createArrayOf("text", p.gpus().stream().flatMap(List::stream).toArray()));
            ps.executeUpdate();
        }
        try (PreparedStatement ps = c.prepareStatement("""
                UPDATE workloads SET host_id = ?, phase = 'placed', reason = NULL, message = NULL, updated_at = now()
                WHERE id = ?""")) {
            ps.setObject(1, p.hostId());
            ps.setObject(2, workloadId);
            ps.executeUpdate();
        }
        bumpHost(c, p.hostId());
    }

    /**
     * The host's desired workloads changed: bump its version. Long-pollers are woken after the
     * commit (see Wakeups), not by a NOTIFY inside this transaction: PostgreSQL serializes the
     * commits of notifying transactions, which would serialize placements.
     */
    public static void bumpHost(Connection c, UUID host) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE hosts SET desired_version = desired_version + 1 WHERE id = ?")) {
            ps.setObject(1, host);
            ps.executeUpdate();
        }
    }

    private static Map<String, String> topology(String json) {
        try {
            return Json.mapper().readValue(json, TOPOLOGY);
        } catch (IOException e) {
            return Map.of();
        }
    }
}
