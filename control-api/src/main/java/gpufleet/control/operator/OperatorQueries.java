package gpufleet.control.operator;

import gpufleet.control.db.Database;
import gpufleet.control.fleet.FleetQueries;
import gpufleet.control.fleet.FleetQueries.GpuFilter;
import gpufleet.control.fleet.Views.GpuView;
import gpufleet.control.fleet.Views.Page;
import gpufleet.control.http.ApiException;
import gpufleet.control.operator.OperatorViews.Allocation;
import gpufleet.control.operator.OperatorViews.Event;
import gpufleet.control.operator.OperatorViews.GpuDetail;
import gpufleet.control.operator.OperatorViews.Workload;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

/** Workloads across tenants, single GPUs with their allocations, and the events table, for operators. */
public final class OperatorQueries {
    static final String WORKLOADS_SQL = """
            SELECT w.id, w.tenant, w.pod_uid, w.namespace, w.name, w.offering, w.phase, w.reason, w.message, w.host_id,
                   h.name, (SELECT array_agg(a.gpu_uuid ORDER BY a.id) FROM gpu_allocations a
                            WHERE a.workload_id = w.id AND a.released_at IS NULL),
                   w.deletion_requested_at IS NOT NULL, w.created_at, w.updated_at, w.deleted_at
            FROM workloads w LEFT JOIN hosts h ON h.id = w.host_id
            WHERE true""";

    private final Database db;
    private final FleetQueries fleet;

    public OperatorQueries(Database db, FleetQueries fleet) {
        this.db = db;
        this.fleet = fleet;
    }

    /** {@code deleted}: also workloads that are gone (deleted, or failed and released). */
    public record WorkloadFilter(String tenant, UUID hostId, String phase, boolean deleted) {}

    public Page<Workload> workloads(WorkloadFilter f, UUID after, int limit) {
        StringBuilder sql = new StringBuilder(WORKLOADS_SQL);
        List<Object> args = new ArrayList<>();
        if (!f.deleted()) {
            sql.append(" AND w.deleted_at IS NULL");
        }
        if (f.tenant() != null) {
            sql.append(" AND w.tenant = ?");
            args.add(f.tenant());
        }
        if (f.hostId() != null) {
            sql.append(" AND w.host_id = ?");
            args.add(f.hostId());
        }
        if (f.phase() != null) {
            sql.append(" AND w.phase = ?");
            args.add(f.phase());
        }
        if (after != null) {
            sql.append(" AND w.id > ?");
            args.add(after);
        }
        sql.append(" ORDER BY w.id LIMIT ?");
        args.add(limit + 1);
        List<Workload> rows = db.read(c -> workloadRows(c, sql.toString(), args.toArray()));
        if (rows.size() <= limit) {
            return new Page<>(rows, null);
        }
        List<Workload> items = List.copyOf(rows.subList(0, limit));
        return new Page<>(items, items.get(limit - 1).id().toString());
    }

    public Workload workload(UUID id) {
        List<Workload> rows = db.read(c -> workloadRows(c, WORKLOADS_SQL + " AND w.id = ?", id));
        if (rows.isEmpty()) {
            throw ApiException.notFound("workload " + id);
        }
        return rows.get(0);
    }

    static List<Workload> workloadRows(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setObject(i + 1, args[i]);
            }
            List<Workload> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Array gpus = rs.getArray(12);
                    out.add(new Workload(rs.getObject(1, UUID.class), rs.getString(2), rs.getString(3), rs.getString(4),
                            rs.getString(5), rs.getString(6), rs.getString(7), rs.getString(8), rs.getString(9),
                            rs.getObject(10, UUID.class), rs.getString(11),
                            gpus == null ? List.of() : Arrays.asList((String[]) gpus.getArray()), rs.getBoolean(13),
                            instant(rs.getTimestamp(14)), instant(rs.getTimestamp(15)), instant(rs.getTimestamp(16))));
                }
            }
            return out;
        }
    }

    /** A GPU with its allocations, newest first. A host carries a handful of GPUs, so the host's list is read. */
    public GpuDetail gpu(String uuid, int historyLimit) {
        UUID hostId = db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT host_id FROM gpus WHERE uuid = ?")) {
                ps.setString(1, uuid);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? rs.getObject(1, UUID.class) : null;
                }
            }
        });
        GpuView gpu = hostId == null ? null : fleet.gpus(new GpuFilter(null, hostId, null, null), null, 1000).items()
                .stream().filter(g -> g.uuid().equals(uuid)).findFirst().orElse(null);
        if (gpu == null) {
            throw ApiException.notFound("gpu " + uuid);
        }
        List<Allocation> allocations = db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement("""
                    SELECT tenant, workload_id, container, allocated_at, released_at FROM gpu_allocations
                    WHERE gpu_uuid = ? ORDER BY id DESC LIMIT ?""")) {
                ps.setString(1, uuid);
                ps.setInt(2, historyLimit);
                List<Allocation> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(new Allocation(rs.getString(1), rs.getObject(2, UUID.class), rs.getString(3),
                                instant(rs.getTimestamp(4)), instant(rs.getTimestamp(5))));
                    }
                }
                return out;
            }
        });
        return new GpuDetail(gpu, allocations, events(new EventFilter(null, uuid, null), historyLimit));
    }

    /** Exactly one of the fields narrows the history, or none for the whole fleet's. */
    public record EventFilter(UUID hostId, String gpu, UUID workload) {}

    /** The newest {@code limit} events that match, oldest first (as kubectl describe shows them). */
    public List<Event> events(EventFilter f, int limit) {
        String where;
        Object arg;
        if (f.hostId() != null) {
            where = "host_id = ?";
            arg = f.hostId();
        } else if (f.gpu() != null) {
            where = "kind = 'gpu' AND object = ?";
            arg = f.gpu();
        } else if (f.workload() != null) {
            where = "kind = 'workload' AND object = ?";
            arg = f.workload().toString();
        } else {
            where = "true";
            arg = null;
        }
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement("""
                    SELECT * FROM (SELECT id, at, kind, object, host_id, type, reason, message FROM events
                                   WHERE %s ORDER BY id DESC LIMIT ?) e ORDER BY id""".formatted(where))) {
                int i = 1;
                if (arg != null) {
                    ps.setObject(i++, arg);
                }
                ps.setInt(i, limit);
                List<Event> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(new Event(rs.getLong(1), instant(rs.getTimestamp(2)), rs.getString(3), rs.getString(4),
                                rs.getObject(5, UUID.class), rs.getString(6), rs.getString(7), rs.getString(8)));
                    }
                }
                return out;
            }
        });
    }

    private static Instant instant(Timestamp ts) {
        return ts == null ? null : ts.toInstant();
    }
}
