package gpufleet.control.workload;

import com.fasterxml.jackson.core.JsonProcessingException;
import gpufleet.common.Json;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.common.api.WorkloadView;
import gpufleet.control.config.SealKey;
import gpufleet.control.db.Database;
import gpufleet.control.http.ApiException;
import gpufleet.control.http.ErrorKind;
import gpufleet.control.placement.PlacementLatency;
import gpufleet.control.placement.Placer;
import gpufleet.control.quota.Quotas;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.UUID;

/** Tenant workloads: create (and place), read, delete. */
public final class WorkloadStore implements AutoCloseable {
    /** The cluster of workloads whose agent names none (V21). */
    public static final String DEFAULT_CLUSTER = "default";

    private final Database db;
    private final Wakeups wakeups;
    private final Creations creations;
    private final SpecSecrets secrets;
    private final PlacementLatency latency;

    public WorkloadStore(Database db, Wakeups wakeups, Quotas quotas, SealKey sealKey, PlacementLatency latency) {
        this.secrets = new SpecSecrets(sealKey);
        this.latency = latency;
        this.db = db;
        this.wakeups = wakeups;
        this.creations = new Creations(db, quotas);
    }

    @Override
    public void close() {
        creations.close();
    }

    public record Created(WorkloadView workload, boolean created) {}

    /**
     * Creates the workload and places it, by the one path every create takes ({@link Creations}).
     * The same pod UID again returns the existing workload unchanged. A pod over its offering's
     * limits is refused with the numbers, and one more than the tenant's workload quota with 403
     * "exceeded quota" (nothing stored).
     */
    public Created create(String tenant, WorkloadSpec given) {
        long arrived = System.nanoTime();
        // Sealed before any transaction: only the clear part is stored in the spec and placed.
        SpecSecrets.Split split = secrets.split(tenant, given);
        Created r = creations.create(tenant, split.clear(), split.sealed());
        if (r.created() && r.workload().hostId() != null) {
            latency.placedOnCreate(System.nanoTime() - arrived);
            wakeups.changed(r.workload().hostId());
        }
        return r;
    }

    /**
     * The pod's workload. {@code cluster}: when not null, a workload of another of the tenant's
     * clusters is not found (each cluster's agent sees its own only).
     */
    public WorkloadView get(String tenant, String podUid, String cluster) {
        return db.read(c -> {
            WorkloadView v = WorkloadViews.byPodUid(c, tenant, podUid);
            if (v == null || cluster != null && !cluster.equals(cluster(c, tenant, podUid))) {
                throw notFound(tenant, podUid, cluster);
            }
            return v;
        });
    }

    /** The tenant's workloads: of one cluster, or with {@code cluster} null of all (the operator's view). */
    public List<WorkloadView> list(String tenant, String cluster) {
        return db.read(c -> cluster == null ? WorkloadViews.list(c, tenant) : WorkloadViews.list(c, tenant, cluster));
    }

    /**
     * Replaces a workload's spec with a changed one from its pod, where only what the API server
     * lets a running pod change differs (see {@link SpecUpdates}); its host then replaces the
     * containers whose image changed and rewrites the volumes whose files changed, in place.
     * Sending the same spec again changes nothing. The new files are sealed as at creation; env
     * values and pull credentials stay those sealed then.
     */
    public WorkloadView update(String tenant, String podUid, String cluster, WorkloadSpec given) {
        if (!given.podUid().equals(podUid)) {
            throw ApiException.invalid("podUid", "the spec is of pod " + given.podUid() + ", not of pod " + podUid);
        }
        WorkloadSpec next = secrets.split(tenant, given).clear();
        UUID[] host = new UUID[1];
        WorkloadView v = db.tx(c -> {
            UUID id;
            WorkloadSpec stored;
            byte[] sealed;
            try (PreparedStatement ps = c.prepareStatement("""
                    SELECT id, host_id, spec, cluster, deletion_requested_at IS NOT NULL OR finished_at IS NOT NULL, sealed_secrets
                    FROM workloads WHERE tenant = ? AND pod_uid = ? FOR UPDATE""")) {
                ps.setString(1, tenant);
                ps.setString(2, podUid);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next() || cluster != null && !cluster.equals(rs.getString(4))) {
                        throw notFound(tenant, podUid, cluster);
                    }
                    if (rs.getBoolean(5)) {
                        throw new ApiException(ErrorKind.CONFLICT, "pod " + podUid + " has finished or is being deleted: its spec "
                                + "no longer changes", "spec");
                    }
                    id = rs.getObject(1, UUID.class);
                    host[0] = rs.getObject(2, UUID.class);
                    stored = Json.mapper().readValue(rs.getString(3), WorkloadSpec.class);
                    sealed = rs.getBytes(6);
                } catch (JsonProcessingException e) {
                    throw new IllegalStateException("the stored spec of pod " + podUid + " is unreadable", e);
                }
            }
            String refusal = SpecUpdates.refusal(stored, next);
            if (refusal != null) {
                throw ApiException.invalid("spec", refusal);
            }
            WorkloadSpec opened = secrets.open(tenant, stored, sealed);
            WorkloadSpec updated = SpecUpdates.applied(opened, given);
            if (opened.equals(updated)) {
                host[0] = null;
                return WorkloadViews.byId(c, id);
            }
            SpecSecrets.Split split = secrets.split(tenant, updated);
            try (PreparedStatement ps = c.prepareStatement(
                    "UPDATE workloads SET spec = ?::jsonb, sealed_secrets = ?, secrets_sealed = true, updated_at = now() WHERE id = ?")) {
                ps.setString(1, Json.mapper().writeValueAsString(split.clear()));
                ps.setBytes(2, split.sealed());
                ps.setObject(3, id);
                ps.executeUpdate();
            } catch (JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
            if (host[0] != null) {
                Placer.bumpHost(c, host[0]);
            }
            return WorkloadViews.byId(c, id);
        });
        if (host[0] != null) {
            wakeups.changed(host[0]);
        }
        return v;
    }

    /** The cluster a tenant's pod belongs to; null when the tenant has no such workload. */
    static String cluster(Connection c, String tenant, String podUid) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT cluster FROM workloads WHERE tenant = ? AND pod_uid = ?")) {
            ps.setString(1, tenant);
            ps.setString(2, podUid);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    static ApiException notFound(String tenant, String podUid, String cluster) {
        return ApiException.notFound("workload for pod " + podUid + " of tenant " + tenant
                + (cluster == null ? "" : " in cluster " + cluster));
    }

    /**
     * Asks for deletion. An unplaced workload goes at once; a placed one is stopped by its host,
     * and its GPUs come free only when the host confirms its containers are gone. Repeatable.
     * A workload already released (evicted, or its host lost) is deleted at once.
     */
    public WorkloadView delete(String tenant, String podUid, String cluster) {
        WorkloadView v = db.tx(c -> {
            UUID host;
            UUID id;
            if (cluster != null && !cluster.equals(cluster(c, tenant, podUid))) {
                throw notFound(tenant, podUid, cluster);
            }
            try (PreparedStatement ps = c.prepareStatement("""
                    UPDATE workloads SET deletion_requested_at = coalesce(deletion_requested_at, now()), updated_at = now(),
                        phase = CASE WHEN host_id IS NULL OR deleted_at IS NOT NULL THEN 'deleted' ELSE phase END,
                        deleted_at = CASE WHEN host_id IS NULL THEN coalesce(deleted_at, now()) ELSE deleted_at END
                    WHERE tenant = ? AND pod_uid = ? RETURNING id, host_id""")) {
                ps.setString(1, tenant);
                ps.setString(2, podUid);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        throw ApiException.notFound("workload for pod " + podUid + " of tenant " + tenant);
                    }
                    id = rs.getObject(1, UUID.class);
                    host = rs.getObject(2, UUID.class);
                }
            }
            if (host != null) {
                Placer.bumpHost(c, host);
            }
            return WorkloadViews.byId(c, id);
        });
        if (v.hostId() != null && !v.phase().equals("deleted")) {
            wakeups.changed(v.hostId());
        }
        return v;
    }
}
