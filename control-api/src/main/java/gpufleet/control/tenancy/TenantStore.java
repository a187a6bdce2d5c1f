package gpufleet.control.tenancy;

import gpufleet.common.Quantity;
import gpufleet.common.api.NodeResources;
import gpufleet.common.api.Offering;
import gpufleet.common.api.OfferingView;
import gpufleet.common.api.TenantSpec;
import gpufleet.control.db.Database;
import gpufleet.control.http.ApiException;
import gpufleet.control.http.ErrorKind;
import gpufleet.control.quota.Quotas;
import gpufleet.control.quota.TenantLimits;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** Tenants, offerings, which tenant may use which offering, and each tenant's node figures. */
public final class TenantStore {
    private final Database db;
    private final Quotas quotas;

    public TenantStore(Database db, Quotas quotas) {
        this.db = db;
        this.quotas = quotas;
    }

    /** A tenant; {@code limits} are those in force, its own where the operator set them, else the defaults. */
    public record TenantView(String name, boolean disabled, Instant createdAt, Instant disabledAt, List<String> offerings,
                             TenantLimits limits) {}

    public TenantView create(TenantSpec spec) {
        return db.tx(c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO tenants (name) VALUES (?) ON CONFLICT DO NOTHING")) {
                ps.setString(1, spec.name());
                if (ps.executeUpdate() == 0) {
                    throw new ApiException(ErrorKind.CONFLICT, "tenant " + spec.name() + " already exists", "name");
                }
            }
            grant(c, spec.name(), spec.offerings());
            return tenant(c, spec.name());
        });
    }

    public TenantView setOfferings(String tenant, List<String> offerings) {
        return db.tx(c -> {
            tenant(c, tenant);
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM tenant_offerings WHERE tenant = ?")) {
                ps.setString(1, tenant);
                ps.executeUpdate();
            }
            grant(c, tenant, offerings);
            return tenant(c, tenant);
        });
    }

    private static void grant(Connection c, String tenant, List<String> offerings) throws SQLException {
        try (PreparedStatement exists = c.prepareStatement("SELECT 1 FROM offerings WHERE name = ?");
             PreparedStatement ins = c.prepareStatement("INSERT INTO tenant_offerings (tenant, offering) VALUES (?, ?)")) {
            for (int i = 0; i < offerings.size(); i++) {
                exists.setString(1, offerings.get(i));
                try (ResultSet rs = exists.executeQuery()) {
                    if (!rs.next()) {
                        throw new ApiException(ErrorKind.INVALID, "offering " + offerings.get(i) + " does not exist",
                                "offerings[" + i + "]");
                    }
                }
                ins.setString(1, tenant);
                ins.setString(2, offerings.get(i));
                ins.executeUpdate();
            }
        }
    }

    /** Sets the tenant's own limits (null: the default); existing objects over a lowered limit stay, new ones are refused. */
    public TenantView setLimits(String tenant, LimitsSpec limits) {
        return db.tx(c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "UPDATE tenants SET max_workloads = ?, max_routes = ?, max_streams = ? WHERE name = ?")) {
                ps.setObject(1, limits.maxWorkloads(), java.sql.Types.INTEGER);
                ps.setObject(2, limits.maxRoutes(), java.sql.Types.INTEGER);
                ps.setObject(3, limits.maxStreams(), java.sql.Types.INTEGER);
                ps.setString(4, tenant);
                if (ps.executeUpdate() == 0) {
                    throw ApiException.notFound("tenant " + tenant);
                }
            }
            return tenant(c, tenant);
        });
    }

    public TenantView setDisabled(String tenant, boolean disabled) {
        return db.tx(c -> {
            try (PreparedStatement ps = c.prepareStatement(disabled
                    ? "UPDATE tenants SET disabled_at = coalesce(disabled_at, now()) WHERE name = ?"
                    : "UPDATE tenants SET disabled_at = NULL WHERE name = ?")) {
                ps.setString(1, tenant);
                if (ps.executeUpdate() == 0) {
                    throw ApiException.notFound("tenant " + tenant);
                }
            }
            return tenant(c, tenant);
        });
    }

    public TenantView tenant(String name) {
        return db.read(c -> tenant(c, name));
    }

    public List<TenantView> tenants() {
        return db.read(c -> {
            List<String> names = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT name FROM tenants ORDER BY name");
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    names.add(rs.getString(1));
                }
            }
            List<TenantView> out = new ArrayList<>();
            for (String n : names) {
                out.add(tenant(c, n));
            }
            return out;
        });
    }

    private TenantView tenant(Connection c, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT t.name, t.created_at, t.disabled_at,
                       coalesce(array_agg(o.offering ORDER BY o.offering) FILTER (WHERE o.offering IS NOT NULL), '{}'),
                       t.max_workloads, t.max_routes, t.max_streams
                FROM tenants t LEFT JOIN tenant_offerings o ON o.tenant = t.name
                WHERE t.name = ? GROUP BY t.name""")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw ApiException.notFound("tenant " + name);
                }
                Instant disabledAt = rs.getTimestamp(3) == null ? null : rs.getTimestamp(3).toInstant();
                return new TenantView(rs.getString(1), disabledAt != null, rs.getTimestamp(2).toInstant(), disabledAt,
                        List.of((String[]) rs.getArray(4).getArray()),
                        quotas.of(rs.getObject(5, Integer.class), rs.getObject(6, Integer.class), rs.getObject(7, Integer.class)));
            }
        }
    }

    public OfferingView createOffering(Offering o) {
        return db.tx(c -> {
            try (PreparedStatement ps = c.prepareStatement("""
                    INSERT INTO offerings (name, gpu_model, gpu_count, cpu_millis, memory_bytes, ephemeral_storage_bytes, shm_size_bytes)
                    VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING""")) {
                ps.setString(1, o.name());
                ps.setString(2, o.gpuModel());
                ps.setInt(3, o.gpuCount());
                ps.setLong(4, o.cpuMillis());
                ps.setLong(5, o.memoryBytes());
                ps.setObject(6, o.ephemeralStorageBytes());
                ps.setObject(7, o.shmSizeBytes());
                if (ps.executeUpdate() == 0) {
                    throw new ApiException(ErrorKind.CONFLICT, "offering " + o.name() + " already exists", "name");
                }
            }
            return OfferingView.of(o.name(), o.gpuModel(), o.gpuCount(), o.cpuMillis(), Quantity.memory(o.memoryBytes()),
                    memory(o.ephemeralStorageBytes()), memory(o.shmSizeBytes()));
        });
    }

    /** A stored optional size as a quantity; null stays null. */
    private static String memory(Long bytes) {
        return bytes == null ? null : Quantity.memory(bytes);
    }

    public void deleteOffering(String name) {
        db.tx(c -> {
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM offerings WHERE name = ?")) {
                ps.setString(1, name);
                if (ps.executeUpdate() == 0) {
                    throw ApiException.notFound("offering " + name);
                }
            }
            return null;
        });
    }

    /** All offerings, or only those granted to {@code tenant} when it is not null. */
    public List<OfferingView> offerings(String tenant) {
        return db.read(c -> {
            if (tenant != null) {
                tenant(c, tenant);
            }
            try (PreparedStatement ps = c.prepareStatement(tenant == null
                    ? """
                      SELECT name, gpu_model, gpu_count, cpu_millis, memory_bytes, ephemeral_storage_bytes, shm_size_bytes
                      FROM offerings ORDER BY name"""
                    : """
                      SELECT o.name, o.gpu_model, o.gpu_count, o.cpu_millis, o.memory_bytes, o.ephemeral_storage_bytes, o.shm_size_bytes
                      FROM offerings o JOIN tenant_offerings t ON t.offering = o.name WHERE t.tenant = ? ORDER BY o.name""")) {
                if (tenant != null) {
                    ps.setString(1, tenant);
                }
                List<OfferingView> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(OfferingView.of(rs.getString(1), rs.getString(2), rs.getInt(3), rs.getLong(4),
                                Quantity.memory(rs.getLong(5)), memory(rs.getObject(6, Long.class)), memory(rs.getObject(7, Long.class))));
                    }
                }
                return out;
            }
        });
    }

    /**
     * The tenant's pool: schedulable hosts carrying any GPU model the tenant is offered. With
     * {@code waiting}, also what the tenant's unplaced workloads will hold.
     */
    public NodeResources node(String tenant, boolean waiting) {
        return db.read(c -> {
            tenant(c, tenant);
            NodeCapacity.Pool pool;
            try (PreparedStatement ps = c.prepareStatement(POOL_SQL)) {
                ps.setString(1, tenant);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    pool = new NodeCapacity.Pool(rs.getLong(1), rs.getLong(2), rs.getLong(3),
                            rs.getLong(4), rs.getLong(6), rs.getLong(7), rs.getLong(5));
                }
            }
            return NodeCapacity.of(pool, waiting ? waiting(c, tenant) : null);
        });
    }

    private static NodeCapacity.Waiting waiting(Connection c, String tenant) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT coalesce(sum(cpu_millis), 0), coalesce(sum(memory_bytes), 0), coalesce(sum(gpu_count), 0)
                FROM workloads WHERE tenant = ? AND phase = 'pending' AND host_id IS NULL
                  AND deletion_requested_at IS NULL AND deleted_at IS NULL""")) {
            ps.setString(1, tenant);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new NodeCapacity.Waiting(rs.getLong(1), rs.getLong(2), rs.getLong(3));
            }
        }
    }

    private static final String POOL_SQL = """
            WITH models AS (
                SELECT DISTINCT o.gpu_model FROM tenant_offerings t JOIN offerings o ON o.name = t.offering WHERE t.tenant = ?),
            pool_gpus AS (
                SELECT g.uuid, g.host_id, g.healthy, EXISTS (SELECT 1 FROM gpu_allocations a
                           WHERE a.gpu_uuid = g.uuid AND a.released_at IS NULL) AS used
                FROM gpus g JOIN hosts h ON h.id = g.host_id
                WHERE g.present AND h.liveness = 'ready' AND NOT h.cordoned AND g.model IN (SELECT gpu_model FROM models)),
            pool_hosts AS (SELECT DISTINCT host_id FROM pool_gpus)
            SELECT (SELECT coalesce(sum(i.allocatable_cpu_millis), 0) FROM host_inventory i WHERE i.host_id IN (SELECT host_id FROM pool_hosts)),
                   (SELECT coalesce(sum(i.allocatable_memory_bytes), 0) FROM host_inventory i WHERE i.host_id IN (SELECT host_id FROM pool_hosts)),
                   (SELECT count(*) FROM pool_gpus),
                   (SELECT count(*) FROM pool_gpus WHERE NOT healthy),
                   (SELECT count(*) FROM pool_gpus WHERE healthy AND used),
                   (SELECT coalesce(sum(w.cpu_millis), 0) FROM workloads w WHERE w.deleted_at IS NULL AND w.finished_at IS NULL AND w.host_id IN (SELECT host_id FROM pool_hosts)),
                   (SELECT coalesce(sum(w.memory_bytes), 0) FROM workloads w WHERE w.deleted_at IS NULL AND w.finished_at IS NULL AND w.host_id IN (SELECT host_id FROM pool_hosts))""";
}
