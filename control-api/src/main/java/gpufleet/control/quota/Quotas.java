package gpufleet.control.quota;

import gpufleet.control.config.QuotaSettings;
import gpufleet.control.http.ApiException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The counted limits on a tenant's workloads and routes, checked inside the transaction that
 * would add one. The tenant's row is locked first (FOR NO KEY UPDATE, which foreign-key checks do
 * not wait for), so two replicas creating for the same tenant count one after the other and the
 * limit holds exactly.
 */
public final class Quotas {
    private final QuotaSettings defaults;

    public Quotas(QuotaSettings defaults) {
        this.defaults = defaults;
    }

    /** The tenant's limits: its own where the operator set them, the configured defaults elsewhere. */
    public TenantLimits of(Integer maxWorkloads, Integer maxRoutes, Integer maxStreams) {
        return new TenantLimits(maxWorkloads == null ? defaults.maxWorkloads() : maxWorkloads,
                maxRoutes == null ? defaults.maxRoutes() : maxRoutes,
                maxStreams == null ? defaults.maxStreams() : maxStreams);
    }

    /** Locks the tenants' rows (the names, an array) in name order; their names and limits ({@link #limits(ResultSet)}). */
    public static final String LOCK = """
            SELECT name, max_workloads, max_routes, max_streams FROM tenants WHERE name = ANY (?)
            ORDER BY name FOR NO KEY UPDATE""";

    /** The limits in a row of {@link #LOCK}. */
    public TenantLimits limits(ResultSet rs) throws SQLException {
        return of(integer(rs, 2), integer(rs, 3), integer(rs, 4));
    }

    /** Locks the tenants' rows in name order and returns their limits; a tenant that does not exist is absent. */
    public Map<String, TenantLimits> lock(Connection c, List<String> tenants) throws SQLException {
        Map<String, TenantLimits> out = new HashMap<>();
        try (PreparedStatement ps = c.prepareStatement(LOCK)) {
            ps.setArray(1, c.createArrayOf("text", tenants.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getString(1), limits(rs));
                }
            }
        }
        return out;
    }

    /** Locks one tenant's row and returns its limits. */
    public TenantLimits lock(Connection c, String tenant) throws SQLException {
        TenantLimits l = lock(c, List.of(tenant)).get(tenant);
        if (l == null) {
            throw ApiException.notFound("tenant " + tenant);
        }
        return l;
    }

    /** The tenant's limits, read without locking (for checks that do not count rows). */
    public TenantLimits limits(Connection c, String tenant) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT max_workloads, max_routes, max_streams FROM tenants WHERE name = ?")) {
            ps.setString(1, tenant);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw ApiException.notFound("tenant " + tenant);
                }
                return of(integer(rs, 1), integer(rs, 2), integer(rs, 3));
            }
        }
    }

    /**
     * The tenants' live workloads (not yet deleted: those being stopped still hold their GPUs),
     * each tenant counted on its own (an index of live workloads by tenant): as
     * {@code tenant = ANY (?)}, the plan kept from a workloads table without statistics scanned
     * the whole table. Rows: tenant, count.
     */
    public static final String LIVE_WORKLOADS = """
            SELECT t.tenant, n.count FROM unnest(?::text[]) AS t (tenant)
            CROSS JOIN LATERAL (SELECT count(*) FROM workloads w WHERE w.tenant = t.tenant AND w.deleted_at IS NULL) n""";

    /**
     * The refusal of one more workload for a tenant with {@code used} live workloads under
     * {@code limits} (counted with the tenant locked), or null when it fits.
     */
    public static ApiException workloadRefusal(String tenant, long used, TenantLimits limits) {
        return used + 1 > limits.maxWorkloads() ? QuotaExceeded.of("workloads", tenant, 1, used, limits.maxWorkloads(),
                "delete workloads or ask the operator to raise maxWorkloads") : null;
    }

    /** Refuses one more route for a tenant already at its limit; replacing an existing route is not one more. */
    public void checkRoute(Connection c, String tenant) throws SQLException {
        TenantLimits l = lock(c, tenant);
        long used;
        try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM routes WHERE tenant = ?")) {
            ps.setString(1, tenant);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                used = rs.getLong(1);
            }
        }
        if (used + 1 > l.maxRoutes()) {
            throw QuotaExceeded.of("routes", tenant, 1, used, l.maxRoutes(),
                    "delete routes (LoadBalancer Services) or ask the operator to raise maxRoutes");
        }
    }

    private static Integer integer(ResultSet rs, int column) throws SQLException {
        int v = rs.getInt(column);
        return rs.wasNull() ? null : v;
    }
}
