package gpufleet.control.edge;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import gpufleet.common.Json;
import gpufleet.common.Names;
import gpufleet.common.api.RouteSpec;
import gpufleet.common.api.RouteView;
import gpufleet.common.api.TenantSpec;
import gpufleet.control.config.EdgeSettings;
import gpufleet.control.db.Database;
import gpufleet.control.http.ApiException;
import gpufleet.control.placement.Placer;
import gpufleet.control.quota.Quotas;
import gpufleet.control.workload.Wakeups;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * Routes: a tenant's LoadBalancer Services at their public names. Changing a route's targets
 * changes which pod ports their hosts must publish, so those hosts are woken to reconcile.
 */
public final class RouteStore {
    private static final TypeReference<List<RouteSpec.Target>> TARGETS = new TypeReference<>() {};
    /**
     * Targets that can take requests: running and Ready as Kubernetes means it (every container
     * ready, which its readiness probe decides), not being deleted, on a ready host, port published.
     */
    static final String READY_UPSTREAMS = """
            SELECT DISTINCT w.published ->> (t ->> 'port')
            FROM jsonb_array_elements(r.targets) t
            JOIN workloads w ON w.tenant = r.tenant AND w.pod_uid = t ->> 'podUid'
            JOIN hosts h ON h.id = w.host_id
            WHERE w.phase = 'running' AND w.deletion_requested_at IS NULL AND w.deleted_at IS NULL
              AND h.liveness = 'ready' AND w.published ->> (t ->> 'port') IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(w.status -> 'containers', '[]')) s
                              WHERE (s ->> 'ready') IS DISTINCT FROM 'true')""";
    private static final String VIEW = """
            SELECT r.tenant, r.service_uid, r.namespace, r.name, r.hostname, r.port, r.targets::text,
                   (SELECT count(*) FROM (%s) u), r.updated_at
            FROM routes r""".formatted(READY_UPSTREAMS);

    private final Database db;
    private final Wakeups wakeups;
    private final EdgeSettings edge;
    private final Quotas quotas;

    public RouteStore(Database db, Wakeups wakeups, EdgeSettings edge, Quotas quotas) {
        this.db = db;
        this.wakeups = wakeups;
        this.edge = edge;
        this.quotas = quotas;
    }

    /**
     * Creates or replaces the route of one Service of the tenant's cluster {@code cluster} (null:
     * {@code default} for a new route, any for an existing one); idempotent. Another cluster's
     * route of the same Service UID is not this cluster's to replace: 404, as if absent. A new
     * route counts against the tenant's route quota.
     */
    public RouteView put(String tenant, String serviceUid, RouteSpec spec, String cluster) {
        // A UUID has a fixed length, so <uid>-<tenant> cannot be read two ways: no two tenants' names collide.
        Names.uid(serviceUid, "serviceUid");
        String hostname = edge.hostname(serviceUid, tenant);
        if (hostname.indexOf('.') > 63) {
            throw ApiException.invalid(null, "tenant " + tenant + " has a name too long for public names: " + hostname.substring(0, hostname.indexOf('.'))
                    + " is longer than a DNS label's 63 characters (tenant names have at most " + TenantSpec.MAX_NAME + ")");
        }
        Set<UUID> hosts = new HashSet<>();
        RouteView v = db.tx(c -> {
            List<RouteSpec.Target> old = null;
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT targets::text, cluster FROM routes WHERE tenant = ? AND service_uid = ? FOR UPDATE")) {
                ps.setString(1, tenant);
                ps.setString(2, serviceUid);
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        if (cluster != null && !cluster.equals(rs.getString(2))) {
                            throw notFound(tenant, serviceUid, cluster);
                        }
                        old = targets(rs.getString(1));
                    }
                }
            }
            if (old == null) {
                quotas.checkRoute(c, tenant);
            }
            try (PreparedStatement ps = c.prepareStatement("""
                    INSERT INTO routes (tenant, service_uid, namespace, name, hostname, port, targets, cluster)
                    VALUES (?, ?, ?, ?, ?, ?, ?::jsonb, ?)
                    ON CONFLICT (tenant, service_uid) DO UPDATE SET namespace = excluded.namespace, name = excluded.name,
                        port = excluded.port, targets = excluded.targets, updated_at = now()
                    WHERE (routes.namespace, routes.name, routes.port, routes.targets)
                          IS DISTINCT FROM (excluded.namespace, excluded.name, excluded.port, excluded.targets)""")) {
                ps.setString(1, tenant);
                ps.setString(2, serviceUid);
                ps.setString(3, spec.namespace());
                ps.setString(4, spec.name());
                ps.setString(5, hostname);
                ps.setInt(6, spec.port());
                ps.setString(7, json(spec.targets()));
                ps.setString(8, cluster == null ? "default" : cluster);
                ps.executeUpdate();
            }
            if (old == null || !Set.copyOf(old).equals(Set.copyOf(spec.targets()))) {
                Set<String> pods = new HashSet<>();
                (old == null ? List.<RouteSpec.Target>of() : old).forEach(t -> pods.add(t.podUid()));
                spec.targets().forEach(t -> pods.add(t.podUid()));
                hosts.addAll(bumpHostsOf(c, tenant, pods));
            }
            return one(c, tenant, serviceUid);
        });
        hosts.forEach(wakeups::changed);
        return v;
    }

    /** Removes the route (of the cluster {@code cluster}; null: any); its name stops answering at the next edge sync. */
    public void delete(String tenant, String serviceUid, String cluster) {
        Set<UUID> hosts = new HashSet<>();
        db.tx(c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "DELETE FROM routes WHERE tenant = ? AND service_uid = ? AND cluster = coalesce(?, cluster) RETURNING targets::text")) {
                ps.setString(1, tenant);
                ps.setString(2, serviceUid);
                ps.setString(3, cluster);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        throw notFound(tenant, serviceUid, cluster);
                    }
                    Set<String> pods = new HashSet<>();
                    targets(rs.getString(1)).forEach(t -> pods.add(t.podUid()));
                    hosts.addAll(bumpHostsOf(c, tenant, pods));
                }
            }
            return null;
        });
        hosts.forEach(wakeups::changed);
    }

    /** The route of the tenant's cluster {@code cluster} (null: any). */
    public RouteView get(String tenant, String serviceUid, String cluster) {
        return db.read(c -> {
            RouteView v = one(c, tenant, serviceUid);
            if (v == null || cluster != null && !cluster.equals(clusterOf(c, tenant, serviceUid))) {
                throw notFound(tenant, serviceUid, cluster);
            }
            return v;
        });
    }

    /** One tenant's routes (of the cluster {@code cluster}; null: all), or every route when {@code tenant} is null (operators). */
    public List<RouteView> list(String tenant, String cluster) {
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement(VIEW + (tenant == null ? "" : " WHERE r.tenant = ? AND r.cluster = coalesce(?, r.cluster)")
                    + " ORDER BY r.tenant, r.namespace, r.name")) {
                if (tenant != null) {
                    ps.setString(1, tenant);
                    ps.setString(2, cluster);
                }
                return views(ps);
            }
        });
    }

    private static String clusterOf(Connection c, String tenant, String serviceUid) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT cluster FROM routes WHERE tenant = ? AND service_uid = ?")) {
            ps.setString(1, tenant);
            ps.setString(2, serviceUid);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    private static ApiException notFound(String tenant, String serviceUid, String cluster) {
        return ApiException.notFound("route for service " + serviceUid + " of tenant " + tenant + (cluster == null ? "" : " in cluster " + cluster));
    }

    private static RouteView one(Connection c, String tenant, String serviceUid) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(VIEW + " WHERE r.tenant = ? AND r.service_uid = ?")) {
            ps.setString(1, tenant);
            ps.setString(2, serviceUid);
            List<RouteView> v = views(ps);
            return v.isEmpty() ? null : v.get(0);
        }
    }

    private static List<RouteView> views(PreparedStatement ps) throws SQLException {
        List<RouteView> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(new RouteView(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5),
                        rs.getInt(6), targets(rs.getString(7)), rs.getInt(8), rs.getTimestamp(9).toInstant()));
            }
        }
        return out;
    }

    /** The hosts running any of these pods get a new desired version: what they publish changed. */
    private static Set<UUID> bumpHostsOf(Connection c, String tenant, Set<String> pods) throws SQLException {
        Set<UUID> hosts = new HashSet<>();
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT DISTINCT host_id FROM workloads
                WHERE tenant = ? AND pod_uid = ANY (?) AND host_id IS NOT NULL AND deleted_at IS NULL""")) {
            ps.setString(1, tenant);
            ps.setArray(2, c.createArrayOf("text", pods.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    hosts.add(rs.getObject(1, UUID.class));
                }
            }
        }
        for (UUID h : hosts) {
            Placer.bumpHost(c, h);
        }
        return hosts;
    }

    static List<RouteSpec.Target> targets(String json) {
        try {
            return Json.mapper().readValue(json, TARGETS);
        } catch (IOException e) {
            throw new IllegalStateException("stored route targets are unreadable: " + e.getMessage(), e);
        }
    }

    private static String json(Object o) {
        try {
            return Json.mapper().writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
