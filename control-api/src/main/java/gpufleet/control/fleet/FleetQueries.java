package gpufleet.control.fleet;

import com.fasterxml.jackson.core.type.TypeReference;
import gpufleet.common.Json;
import gpufleet.common.Quantity;
import gpufleet.common.api.HostCondition;
import gpufleet.control.db.Database;
import gpufleet.control.fleet.Views.GpuCounts;
import gpufleet.control.fleet.Views.GpuView;
import gpufleet.control.fleet.Views.HostView;
import gpufleet.control.fleet.Views.Page;
import gpufleet.control.fleet.Views.Resources;
import gpufleet.control.http.ApiException;
import java.io.IOException;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** Read-only views of the fleet for operators: hosts, GPUs, per-model summary. */
public final class FleetQueries {
    /** A GPU's state: unhealthy wins over allocated, allocated over free. */
    static final String GPU_STATE = "CASE WHEN NOT g.healthy THEN 'unhealthy' WHEN a.id IS NOT NULL THEN 'allocated' ELSE 'free' END";
    static final String HOST_STATE = "CASE WHEN h.liveness <> 'ready' THEN h.liveness WHEN h.cordoned THEN 'cordoned' ELSE 'ready' END";
    private static final TypeReference<List<HostCondition>> CONDITIONS = new TypeReference<>() {};
    private static final TypeReference<Map<String, String>> TOPOLOGY = new TypeReference<>() {};

    private final Database db;

    public FleetQueries(Database db) {
        this.db = db;
    }

    public record GpuFilter(String model, UUID hostId, String state, String tenant) {}

    public Page<GpuView> gpus(GpuFilter f, String after, int limit) {
        StringBuilder sql = new StringBuilder("""
                SELECT g.uuid, g.host_id, h.name, g.idx, g.model, %s AS state, a.tenant, g.health_reason, g.memory_bytes,
                       g.memory_used_bytes, g.pci_bus_id, g.numa_node, g.mig_enabled, g.utilization_gpu,
                       g.utilization_memory, g.temperature_c, g.power_mw, g.topology, g.present, g.updated_at
                FROM gpus g JOIN hosts h ON h.id = g.host_id
                LEFT JOIN gpu_allocations a ON a.gpu_uuid = g.uuid AND a.released_at IS NULL
                WHERE true""".formatted(GPU_STATE));
        List<Object> args = new ArrayList<>();
        if (f.model() != null) {
            sql.append(" AND g.model = ?");
            args.add(f.model());
        }
        if (f.hostId() != null) {
            sql.append(" AND g.host_id = ?");
            args.add(f.hostId());
        }
        if (f.tenant() != null) {
            sql.append(" AND a.tenant = ?");
            args.add(f.tenant());
        }
        if (f.state() != null) {
            sql.append(switch (f.state()) {
                case "free" -> " AND g.healthy AND a.id IS NULL";
                case "allocated" -> " AND g.healthy AND a.id IS NOT NULL";
                default -> " AND NOT g.healthy";
            });
        }
        if (after != null) {
            sql.append(" AND g.uuid > ?");
            args.add(after);
        }
        sql.append(" ORDER BY g.uuid LIMIT ?");
        args.add(limit + 1);
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement(sql.toString())) {
                for (int i = 0; i < args.size(); i++) {
                    ps.setObject(i + 1, args.get(i));
                }
                List<GpuView> items = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        items.add(gpu(rs));
                    }
                }
                return page(items, limit, GpuView::uuid);
            }
        });
    }

    private static GpuView gpu(ResultSet rs) throws SQLException {
        return new GpuView(rs.getString(1), rs.getObject(2, UUID.class), rs.getString(3), rs.getInt(4), rs.getString(5),
                rs.getString(6), rs.getString(7), rs.getString(8), rs.getLong(9), (Long) rs.getObject(10),
                rs.getString(11), (Integer) rs.getObject(12), (Boolean) rs.getObject(13), (Integer) rs.getObject(14),
                (Integer) rs.getObject(15), (Integer) rs.getObject(16), (Long) rs.getObject(17),
                parse(rs.getString(18), TOPOLOGY), rs.getBoolean(19), instant(rs.getTimestamp(20)));
    }

    public Page<HostView> hosts(String state, String after, int limit) {
        String sql = HOSTS_SQL
                + (state != null ? " AND " + HOST_STATE + " = ?" : "")
                + (after != null ? " AND h.name > ?" : "")
                + " GROUP BY h.id, b.seen_at, i.host_id ORDER BY h.name LIMIT ?";
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                int i = 1;
                if (state != null) {
                    ps.setString(i++, state);
                }
                if (after != null) {
                    ps.setString(i++, after);
                }
                ps.setInt(i, limit + 1);
                return page(hostRows(ps), limit, HostView::name);
            }
        });
    }

    public HostView host(UUID id) {
        String sql = HOSTS_SQL + " AND h.id = ? GROUP BY h.id, b.seen_at, i.host_id";
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                ps.setObject(1, id);
                List<HostView> rows = hostRows(ps);
                if (rows.isEmpty()) {
                    throw ApiException.notFound("host " + id);
                }
                return rows.get(0);
            }
        });
    }

    private static final String HOSTS_SQL = """
            SELECT h.id, h.name, %s AS state, h.cordoned, b.seen_at, h.liveness_changed_at, i.generation,
                   i.driver_version, i.cuda_version, i.cpu_millis, i.memory_bytes, i.allocatable_cpu_millis,
                   i.allocatable_memory_bytes, i.conditions::text,
                   count(g.uuid), count(*) FILTER (WHERE g.healthy AND a.id IS NULL),
                   count(*) FILTER (WHERE g.healthy AND a.id IS NOT NULL), count(*) FILTER (WHERE NOT g.healthy), h.address
            FROM hosts h
            LEFT JOIN host_heartbeats b ON b.host_id = h.id
            LEFT JOIN host_inventory i ON i.host_id = h.id
            LEFT JOIN gpus g ON g.host_id = h.id
            LEFT JOIN gpu_allocations a ON a.gpu_uuid = g.uuid AND a.released_at IS NULL
            WHERE true""".formatted(HOST_STATE);

    private static List<HostView> hostRows(PreparedStatement ps) throws SQLException {
        List<HostView> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                Long generation = (Long) rs.getObject(7);
                Resources res = generation == null ? null : new Resources(Quantity.cpu(rs.getLong(10)),
                        Quantity.memory(rs.getLong(11)), Quantity.cpu(rs.getLong(12)), Quantity.memory(rs.getLong(13)));
                out.add(new HostView(rs.getObject(1, UUID.class), rs.getString(2), rs.getString(3), rs.getBoolean(4),
                        instant(rs.getTimestamp(5)), instant(rs.getTimestamp(6)), generation, rs.getString(8),
                        rs.getString(9), res, new GpuCounts(rs.getLong(15), rs.getLong(16), rs.getLong(17), rs.getLong(18)),
                        rs.getString(14) == null ? List.of() : parse(rs.getString(14), CONDITIONS), rs.getString(19)));
            }
        }
        return out;
    }

    private static <T> Page<T> page(List<T> rows, int limit, java.util.function.Function<T, String> key) {
        if (rows.size() <= limit) {
            return new Page<>(rows, null);
        }
        List<T> items = rows.subList(0, limit);
        return new Page<>(List.copyOf(items), key.apply(items.get(limit - 1)));
    }

    private static <T> T parse(String json, TypeReference<T> type) {
        try {
            return Json.mapper().readValue(json, type);
        } catch (IOException e) {
            throw new IllegalStateException("stored JSON is unreadable: " + e.getMessage(), e);
        }
    }

    private static Instant instant(Timestamp ts) {
        return ts == null ? null : ts.toInstant();
    }
}
