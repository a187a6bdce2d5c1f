package gpufleet.control.operator;

import gpufleet.control.db.Database;
import gpufleet.control.operator.OperatorViews.Workload;
import gpufleet.control.placement.Placer;
import gpufleet.control.workload.Wakeups;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Draining a host, as kubectl drain does to a node: cordon it, then evict every workload on it.
 * An evicted workload fails with reason Evicted (its pod shows Failed/Evicted, and a tenant's
 * controller makes a replacement elsewhere); its host stops the containers, and its GPUs come free
 * when the host confirms they are gone. A workload that already succeeded keeps its phase.
 */
final class Drain {
    private final Database db;
    private final Wakeups wakeups;

    Drain(Database db, Wakeups wakeups) {
        this.db = db;
        this.wakeups = wakeups;
    }

    record Result(List<Workload> evicted, int remaining) {}

    /** Repeatable: a second drain evicts nothing new and reports what is still stopping. */
    Result drain(UUID hostId) {
        Result r = db.tx(c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE hosts SET cordoned = true WHERE id = ? AND NOT cordoned")) {
                ps.setObject(1, hostId);
                ps.executeUpdate();
            }
            List<UUID> ids = evict(c, hostId);
            if (!ids.isEmpty()) {
                Placer.bumpHost(c, hostId);
            }
            List<Workload> evicted = ids.isEmpty() ? List.of() : OperatorQueries.workloadRows(c,
                    OperatorQueries.WORKLOADS_SQL + " AND w.id = ANY (?) ORDER BY w.id", c.createArrayOf("uuid", ids.toArray()));
            return new Result(evicted, remaining(c, hostId));
        });
        if (!r.evicted().isEmpty()) {
            wakeups.changed(hostId);
        }
        return r;
    }

    private static List<UUID> evict(Connection c, UUID hostId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                UPDATE workloads w SET phase = CASE WHEN w.phase = 'succeeded' THEN w.phase ELSE 'failed' END,
                    reason = 'Evicted', message = 'host ' || h.name || ' was drained by an operator',
                    deletion_requested_at = now(), updated_at = now()
                FROM hosts h
                WHERE h.id = w.host_id AND w.host_id = ? AND w.deleted_at IS NULL AND w.deletion_requested_at IS NULL
                RETURNING w.id""")) {
            ps.setObject(1, hostId);
            List<UUID> ids = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    ids.add(rs.getObject(1, UUID.class));
                }
            }
            return ids;
        }
    }

    private static int remaining(Connection c, UUID hostId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT count(*) FROM workloads WHERE host_id = ? AND deleted_at IS NULL")) {
            ps.setObject(1, hostId);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }
}
