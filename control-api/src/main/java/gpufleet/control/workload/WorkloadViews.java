package gpufleet.control.workload;

import com.fasterxml.jackson.core.type.TypeReference;
import gpufleet.common.Json;
import gpufleet.common.api.ContainerStatus;
import gpufleet.common.api.WorkloadView;
import gpufleet.control.db.Pipeline;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** Reads workloads as their tenant sees them. */
final class WorkloadViews {
    private static final TypeReference<List<ContainerStatus>> STATUSES = new TypeReference<>() {};
    private static final String COLUMNS = """
            SELECT w.id, w.pod_uid, w.namespace, w.name, w.offering, w.phase, w.reason, w.message, w.host_id,
                   w.status -> 'containers', w.deletion_requested_at IS NOT NULL, w.created_at,
                   (SELECT json_object_agg(x.container, x.uuids) FROM (
                        SELECT a.container, json_agg(a.gpu_uuid ORDER BY a.id) AS uuids FROM gpu_allocations a
                        WHERE a.workload_id = w.id AND a.released_at IS NULL GROUP BY a.container) x),
                   w.status -> 'initContainers'""";
    private static final String SELECT = COLUMNS + " FROM workloads w";
    /**
     * Several workloads, each found by its key (the LIMIT keeps the lookup per id): as
     * {@code w.id = ANY (?)}, the plan a connection kept from a workloads table without
     * statistics scanned the whole table.
     */
    static final String BY_IDS = COLUMNS
            + " FROM unnest(?::uuid[]) AS k (id) CROSS JOIN LATERAL (SELECT * FROM workloads WHERE id = k.id LIMIT 1) w";

    private WorkloadViews() {}

    static WorkloadView byId(Connection c, UUID id) throws SQLException {
        return one(c, SELECT + " WHERE w.id = ?", id);
    }

    /** Several workloads by id, as a step of a pipeline: the views go to {@code out} when it runs. */
    static void byIds(Pipeline p, List<UUID> ids, List<WorkloadView> out) {
        if (!ids.isEmpty()) {
            p.add(BY_IDS, b -> b.array(1, "uuid", ids), rs -> read(rs, out));
        }
    }

    static WorkloadView byPodUid(Connection c, String tenant, String podUid) throws SQLException {
        return one(c, SELECT + " WHERE w.tenant = ? AND w.pod_uid = ?", tenant, podUid);
    }

    static List<WorkloadView> list(Connection c, String tenant) throws SQLException {
        return many(c, SELECT + " WHERE w.tenant = ? AND w.deleted_at IS NULL ORDER BY w.created_at, w.id", tenant);
    }

    /** One of the tenant's clusters' workloads (V21: the cluster its agent named in the spec). */
    static List<WorkloadView> list(Connection c, String tenant, String cluster) throws SQLException {
        return many(c, SELECT + " WHERE w.tenant = ? AND w.cluster = ? AND w.deleted_at IS NULL ORDER BY w.created_at, w.id",
                tenant, cluster);
    }

    private static WorkloadView one(Connection c, String sql, Object... args) throws SQLException {
        List<WorkloadView> rows = many(c, sql, args);
        return rows.isEmpty() ? null : rows.get(0);
    }

    private static List<WorkloadView> many(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setObject(i + 1, args[i]);
            }
            return rows(ps);
        }
    }

    private static List<WorkloadView> rows(PreparedStatement ps) throws SQLException {
        List<WorkloadView> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
            read(rs, out);
        }
        return out;
    }

    private static void read(ResultSet rs, List<WorkloadView> out) throws SQLException {
        while (rs.next()) {
            out.add(new WorkloadView(rs.getObject(1, UUID.class), rs.getString(2), rs.getString(3), rs.getString(4),
                    rs.getString(5), rs.getString(6), rs.getString(7), rs.getString(8), rs.getObject(9, UUID.class),
                    gpus(rs.getString(13)), statuses(rs.getString(10)), rs.getBoolean(11),
                    rs.getTimestamp(12).toInstant(), statuses(rs.getString(14))));
        }
    }

    static Map<String, List<String>> gpus(String json) {
        if (json == null) {
            return Map.of();
        }
        try {
            return Json.mapper().readValue(json, new TypeReference<LinkedHashMap<String, List<String>>>() {});
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<ContainerStatus> statuses(String json) {
        if (json == null) {
            return List.of();
        }
        try {
            return Json.mapper().readValue(json, STATUSES);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
