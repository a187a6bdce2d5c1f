package gpufleet.control.workload;

import com.fasterxml.jackson.core.JsonProcessingException;
import gpufleet.common.Json;
import gpufleet.common.Quantity;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.common.api.WorkloadView;
import gpufleet.control.config.SealKey;
import gpufleet.control.db.Database;
import gpufleet.control.http.ApiException;
import gpufleet.control.http.ErrorKind;
import gpufleet.control.placement.Fit;
import gpufleet.control.placement.GpuAsks;
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
    private final PlacementBatcher batcher;
    private final SpecSecrets secrets;
    private final Quotas quotas;

    public WorkloadStore(Database db, Wakeups wakeups, Quotas quotas, SealKey sealKey) {
        this.secrets = new SpecSecrets(sealKey);
        this.db = db;
        this.wakeups = wakeups;
        this.quotas = quotas;
        this.batcher = new PlacementBatcher(db, quotas);
    }

    @Override
    public void close() {
        batcher.close();
    }

    public record Created(WorkloadView workload, boolean created) {}

    private record OfferingRow(String model, int gpus, long cpuMillis, long memoryBytes) {}

    /**
     * Creates the workload and places it in the same transaction. The same pod UID again returns
     * the existing workload unchanged. A pod over its offering's limits is refused with the numbers,
     * and one more than the tenant's workload quota with 403 "exceeded quota" (nothing stored).
     */
    public Created create(String tenant, WorkloadSpec given) {
        String owner = db.read(c -> cluster(c, tenant, given.podUid()));
        String cluster = given.cluster() == null ? DEFAULT_CLUSTER : given.cluster();
        if (owner != null && !owner.equals(cluster)) {
            throw new ApiException(ErrorKind.CONFLICT, "pod " + given.podUid() + " is already a workload of tenant " + tenant
                    + "'s cluster " + owner + ", not of cluster " + cluster, "cluster");
        }
        // Sealed before any transaction: every path below stores and places the clear part only.
        SpecSecrets.Split split = secrets.split(tenant, given);
        WorkloadSpec spec = split.clear();
        PlacementBatcher.Outcome o;
        try {
            o = batcher.submit(tenant, spec, split.sealed()).get(30, java.util.concurrent.TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            o = new PlacementBatcher.Alone();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            o = new PlacementBatcher.Alone();
        }
        Created r;
        if (o instanceof PlacementBatcher.Done d) {
            r = d.created();
        } else if (o instanceof PlacementBatcher.PlaceAlone p) {
            r = Retry.onConflict(() -> db.tx(c -> {
                placeIfPending(c, p.id(), tenant, spec, p.model(), true);
                return new Created(WorkloadViews.byId(c, p.id()), true);
            }));
        } else {
            r = createAlone(tenant, spec, split.sealed());
        }
        if (r.created() && r.workload().hostId() != null) {
            wakeups.changed(r.workload().hostId());
        }
        return r;
    }

    /** One pod in its own transaction: the path with every answer (existing pod, refused offering, misfit). */
    private Created createAlone(String tenant, WorkloadSpec spec, byte[] sealed) {
        return Retry.onConflict(() -> db.tx(c -> {
            WorkloadView existing = WorkloadViews.byPodUid(c, tenant, spec.podUid());
            if (existing != null) {
                return new Created(existing, false);
            }
            OfferingRow o = offering(c, tenant, spec.offering());
            checkLimits(spec, o);
            quotas.checkWorkload(c, tenant);
            UUID id = UUID.randomUUID();
            try (PreparedStatement ps = c.prepareStatement("""
                    INSERT INTO workloads (id, tenant, pod_uid, namespace, name, offering, spec, gpu_count, cpu_millis,
                        memory_bytes, phase, sealed_secrets) VALUES (?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?, ?, 'pending', ?)""")) {
                ps.setObject(1, id);
                ps.setString(2, tenant);
                ps.setString(3, spec.podUid());
                ps.setString(4, spec.namespace());
                ps.setString(5, spec.name());
                ps.setString(6, spec.offering());
                ps.setString(7, Json.mapper().writeValueAsString(spec));
                ps.setInt(8, spec.gpus());
                ps.setLong(9, spec.cpuMillis());
                ps.setLong(10, spec.memoryBytes());
                ps.setBytes(11, sealed);
                ps.executeUpdate();
            } catch (JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
            place(c, id, tenant, spec, o.model());
            return new Created(WorkloadViews.byId(c, id), true);
        }));
    }

    /**
     * Tries to place a pending workload; leaves it pending with the reason when nothing fits.
     * Returns the decision, or null when the workload was not there to place (placed, deleted, or
     * being placed by another transaction).
     */
    static Fit.Decision place(Connection c, UUID id, String tenant, WorkloadSpec spec, String model) throws SQLException {
        return placeIfPending(c, id, tenant, spec, model, false);
    }

    /** What placing the pod asks of a host: GPUs of the offering's model per container, cpu and memory. */
    static Fit.Request request(WorkloadSpec spec, String model) {
        return new Fit.Request(model, GpuAsks.of(spec).counts(), spec.cpuMillis(), spec.memoryBytes());
    }

    /**
     * Places the workload if it is still waiting, holding its row so that no other transaction
     * (the pending placer, the pod's own create call) places it at the same time: a workload
     * placed twice would hold two sets of GPUs. {@code wait}: wait for a transaction already
     * placing it (and then find it placed) instead of skipping it.
     */
    static Fit.Decision placeIfPending(Connection c, UUID id, String tenant, WorkloadSpec spec, String model, boolean wait)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT 1 FROM workloads WHERE id = ? AND phase = 'pending' AND host_id IS NULL AND deletion_requested_at IS NULL
                FOR UPDATE""" + (wait ? "" : " SKIP LOCKED"))) {
            ps.setObject(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
            }
        }
        Fit.Decision d = Placer.place(c, id, tenant, request(spec, model), GpuAsks.of(spec).containers());
        if (d instanceof Fit.Misfit m) {
            try (PreparedStatement ps = c.prepareStatement(
                    "UPDATE workloads SET reason = 'Unschedulable', message = ?, updated_at = now() WHERE id = ?")) {
                ps.setString(1, m.reason());
                ps.setObject(2, id);
                ps.executeUpdate();
            }
        }
        return d;
    }

    private static OfferingRow offering(Connection c, String tenant, String offering) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT o.gpu_model, o.gpu_count, o.cpu_millis, o.memory_bytes, t.tenant IS NOT NULL
                FROM offerings o LEFT JOIN tenant_offerings t ON t.offering = o.name AND t.tenant = ?
                WHERE o.name = ?""")) {
            ps.setString(1, tenant);
            ps.setString(2, offering);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next() || !rs.getBoolean(5)) {
                    throw new ApiException(ErrorKind.INVALID, "offering " + offering + " is not available to tenant " + tenant, "offering");
                }
                return new OfferingRow(rs.getString(1), rs.getInt(2), rs.getLong(3), rs.getLong(4));
            }
        }
    }

    /** The seed's rule: the pod's totals may not exceed its RuntimeClass, and it needs at least one GPU. */
    private static void checkLimits(WorkloadSpec spec, OfferingRow o) {
        int gpus = spec.gpus();
        if (gpus < 1 || gpus > o.gpus() || spec.cpuMillis() > o.cpuMillis() || spec.memoryBytes() > o.memoryBytes()) {
            throw new ApiException(ErrorKind.INVALID, "pod " + spec.namespace() + "/" + spec.name() + " asks for "
                    + gpus + " GPU(s), " + Quantity.cpu(spec.cpuMillis()) + " cpu and " + Quantity.memory(spec.memoryBytes())
                    + " memory; offering " + spec.offering() + " allows 1 to " + o.gpus() + " GPU(s), at most "
                    + o.cpuMillis() + "m cpu and " + Quantity.memory(o.memoryBytes()) + " memory", "containers");
        }
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
