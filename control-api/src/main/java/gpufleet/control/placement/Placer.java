package gpufleet.control.placement;

import com.fasterxml.jackson.core.type.TypeReference;
import gpufleet.common.Json;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.control.db.Pipeline;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * Places one workload inside the caller's transaction, in a few statements: one finds and locks
 * a fitting host (best fit, then host order, skipping hosts other placements hold), one
 * re-reads that host's free GPUs, cpu and memory under the lock, one writes everything. The
 * unique index on live allocations refuses a double allocation even if this code were wrong.
 */
public final class Placer {
    private static final TypeReference<Map<String, String>> TOPOLOGY = new TypeReference<>() {};
    /**
     * The first hosts (as many as the last parameter) with enough free GPUs of the model, cpu and
     * memory, that no other transaction has locked; locked here. Fewest free GPUs first (best
     * fit: whole hosts stay free for large requests), then host order. Its counts come from the
     * statement's snapshot; the caller checks them again under the lock.
     * <p>Every step is a lookup only an index serves, whatever the statistics say, because
     * PostgreSQL plans these statements once per connection and a plan made on a table it has
     * not analyzed yet (a fresh deployment, a table just filled) stays until the next ANALYZE:
     * the walk steps through host_free_fit one {@code LIMIT 1} at a time (V22: free GPUs per host
     * and model, kept by the database), and each host, its inventory and the cpu and memory its
     * workloads hold (host_usage) are read by key. Summing the workloads instead became a scan of
     * every live workload per candidate host, and grouping the free GPUs a sort of all of them,
     * when the tables had no statistics; counting free GPUs host by host walked every host of the
     * model for an 8-GPU pod in a fragmented fleet.
     */
    private static final String LOCK_CANDIDATE = """
            WITH RECURSIVE walk (free, host_id) AS (
                (SELECT f.free, f.host_id FROM host_free f WHERE f.model = ? AND f.free >= ? ORDER BY f.free, f.host_id LIMIT 1)
                UNION ALL
                SELECT n.free, n.host_id FROM walk w
                CROSS JOIN LATERAL (SELECT f.free, f.host_id FROM host_free f WHERE f.model = ? AND (f.free, f.host_id) > (w.free, w.host_id)
                                    ORDER BY f.free, f.host_id LIMIT 1) n),
            free AS (SELECT host_id FROM walk LIMIT 64)
            SELECT h.id FROM free f
            CROSS JOIN LATERAL (
                SELECT h.id FROM hosts h
                WHERE h.id = f.host_id AND h.liveness = 'ready' AND NOT h.cordoned AND NOT h.id = ANY (?)
                  AND (SELECT i.allocatable_cpu_millis - coalesce((SELECT u.cpu_millis FROM host_usage u WHERE u.host_id = i.host_id), 0)
                       FROM host_inventory i WHERE i.host_id = h.id) >= ?
                  AND (SELECT i.allocatable_memory_bytes - coalesce((SELECT u.memory_bytes FROM host_usage u WHERE u.host_id = i.host_id), 0)
                       FROM host_inventory i WHERE i.host_id = h.id) >= ?
                FOR NO KEY UPDATE %s) h
            LIMIT ?""";

    /** {@link #LOCK_CANDIDATE}, skipping hosts other transactions hold or waiting for them. */
    static String lockCandidateSql(boolean skipLocked) {
        return LOCK_CANDIDATE.formatted(skipLocked ? "SKIP LOCKED" : "");
    }

    /**
     * Locked hosts' free GPUs, each host's of the model it was locked for (topology only when it
     * matters), free cpu and memory, in host order. Per host and per GPU only keyed lookups
     * (scalar subqueries, which the planner cannot turn into a join that scans a whole table, as
     * it did here without statistics).
     */
    static final String FRESH = """
            SELECT h.name, h.id,
                   (SELECT i.allocatable_cpu_millis FROM host_inventory i WHERE i.host_id = h.id)
                       - coalesce((SELECT u.cpu_millis FROM host_usage u WHERE u.host_id = h.id), 0),
                   (SELECT i.allocatable_memory_bytes FROM host_inventory i WHERE i.host_id = h.id)
                       - coalesce((SELECT u.memory_bytes FROM host_usage u WHERE u.host_id = h.id), 0),
                   g.uuid, g.topology
            FROM unnest(?::uuid[], ?::text[]) AS x (id, model)
            CROSS JOIN LATERAL (SELECT h.id, h.name FROM hosts h WHERE h.id = x.id LIMIT 1) h
            LEFT JOIN LATERAL (SELECT g.uuid, CASE WHEN ? THEN g.topology::text END AS topology, g.idx FROM gpus g
                               WHERE g.host_id = h.id AND g.model = x.model AND g.healthy AND g.present
                                 AND (SELECT count(*) FROM gpu_allocations a WHERE a.gpu_uuid = g.uuid AND a.released_at IS NULL) = 0
                              ) g ON true
            ORDER BY h.id, g.idx""";
    /**
     * Allocations, their usage intervals (V27: metering starts in the same statement, so an
     * allocation never exists without its interval) and the GPUs' flags: one statement for any
     * number. The interval copies the pod's names and the GPU's host and model, each row read by
     * key in a scalar subquery (a join here was a scan of all workloads in the plan made before
     * ANALYZE, see PlacementPlansIT); OFFSET 0 keeps each subquery run once per allocation, not
     * once per element taken from it.
     */
    static final String WRITE = """
            WITH allocations AS (
                INSERT INTO gpu_allocations (gpu_uuid, tenant, workload_id, container)
                SELECT * FROM unnest(?::text[], ?::text[], ?::uuid[], ?::text[])
                RETURNING id, gpu_uuid, tenant, workload_id),
            metered AS (
                INSERT INTO usage_intervals (allocation_id, tenant, cluster, offering, namespace, pod_name, pod_uid,
                                             workload_id, host_id, gpu_uuid, gpu_model, started_at)
                SELECT x.id, x.tenant, x.w[1], x.w[2], x.w[3], x.w[4], x.w[5], x.workload_id, x.g[1]::uuid, x.gpu_uuid, x.g[2],
                       usage_clock()
                FROM (SELECT a.id, a.tenant, a.workload_id, a.gpu_uuid,
                             (SELECT ARRAY[w.cluster, w.offering, w.namespace, w.name, w.pod_uid] FROM workloads w
                              WHERE w.id = a.workload_id) AS w,
                             (SELECT ARRAY[g.host_id::text, g.model] FROM gpus g WHERE g.uuid = a.gpu_uuid) AS g
                      FROM allocations a OFFSET 0) x)
            UPDATE gpus SET allocated = true WHERE uuid = ANY (?::text[])""";
    /** A pending workload, placed: its host, by its key. */
    static final String PLACED = """
            UPDATE workloads SET host_id = ?, phase = 'placed', reason = NULL, message = NULL, updated_at = now() WHERE id = ?""";
    static final String BUMP = "UPDATE hosts SET desired_version = desired_version + 1 WHERE id = ?";
    /** Only for explaining a misfit: the most free GPUs of the model on any one ready host. */
    private static final String MOST_FREE = """
            SELECT h.id
            FROM (SELECT g.host_id, count(*) AS n FROM gpus g
                  WHERE g.model = ? AND g.healthy AND g.present AND NOT g.allocated GROUP BY g.host_id) f
            JOIN hosts h ON h.id = f.host_id
            WHERE h.liveness = 'ready' AND NOT h.cordoned
            ORDER BY f.n DESC, h.name LIMIT 1""";
    /** Hosts looked at before giving up and explaining: a race lost this many times is a full fleet. */
    private static final int ATTEMPTS = 8;

    private Placer() {}

    /** What placing the pod asks of a host: GPUs of the offering's model per container, cpu and memory. */
    public static Fit.Request request(WorkloadSpec spec, String model) {
        return new Fit.Request(model, GpuAsks.of(spec).counts(), spec.cpuMillis(), spec.memoryBytes());
    }

    /**
     * Places the workload if it is still waiting, holding its row so that no other transaction
     * (the pending placer, the pod's own create) places it at the same time: a workload placed
     * twice would hold two sets of GPUs. Leaves it pending with the reason when nothing fits.
     * {@code wait}: wait for a transaction already placing it (and then find it placed) instead
     * of skipping it, and for a fitting host another placement holds; only a transaction that
     * holds no host yet may wait (see {@link #place}), so a pass placing several workloads in one
     * transaction passes false. Returns the decision, or null when the workload was not there to place.
     */
    public static Fit.Decision placeIfPending(Connection c, UUID id, String tenant, WorkloadSpec spec, String model, boolean wait)
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
        Fit.Decision d = place(c, id, tenant, request(spec, model), GpuAsks.of(spec).containers(), wait);
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

    /**
     * Places the workload or explains why not; writes allocations and the host only when placed.
     * A host that turns out not to fit stays locked until the transaction ends; that is safe
     * because only a transaction holding no host waits for one (others skip locked hosts), so
     * no cycle of waits can form among placements. {@code mayWait} is the caller's word that
     * its transaction holds no host yet: the pending placer's pass, which places many workloads
     * in one transaction, held the hosts of its earlier placements while it waited, and
     * deadlocked. The lock is FOR NO KEY UPDATE: it excludes other placements, but not the
     * key-share locks of foreign-key checks, so an inventory report holding the host's GPU
     * rows and checking its host_inventory row's key never waits for a placement waiting for
     * those GPU rows (FOR UPDATE made that a deadlock, seen in the soak).
     */
    private static Fit.Decision place(Connection c, UUID workloadId, String tenant, Fit.Request r, List<String> containers,
                                      boolean mayWait) throws SQLException {
        List<UUID> seen = new ArrayList<>();
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            UUID host = lockCandidate(c, r, seen, true);
            if (host == null && seen.isEmpty() && mayWait) {
                // Every fitting host may be held by another placement: wait for one, holding none.
                try (PreparedStatement timeout = c.prepareStatement("SET LOCAL lock_timeout = '5s'")) {
                    timeout.execute();
                }
                host = lockCandidate(c, r, seen, false);
            }
            if (host == null) {
                break;
            }
            seen.add(host);
            Fit.Decision d = Fit.onHost(r, fresh(c, host, r.model(), r.gpus() > 1));
            if (d instanceof Fit.Placed p) {
                write(c, workloadId, tenant, p, containers);
                return p;
            }
        }
        return explain(c, r);
    }

    private static UUID lockCandidate(Connection c, Fit.Request r, List<UUID> exclude, boolean skipLocked) throws SQLException {
        List<UUID> one = lockCandidates(c, r.model(), r.gpus(), r.cpuMillis(), r.memoryBytes(), exclude, 1, skipLocked);
        return one.isEmpty() ? null : one.get(0);
    }

    /** Up to {@code limit} fitting hosts, locked, best fit first (see {@link #LOCK_CANDIDATE}). */
    static List<UUID> lockCandidates(Connection c, String model, int gpus, long cpuMillis, long memoryBytes, List<UUID> exclude,
                                             int limit, boolean skipLocked) throws SQLException {
        List<UUID> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(lockCandidateSql(skipLocked))) {
            ps.setString(1, model);
            ps.setInt(2, gpus);
            ps.setString(3, model);
            ps.setArray(4, c.createArrayOf("uuid", exclude.toArray()));
            ps.setLong(5, cpuMillis);
            ps.setLong(6, memoryBytes);
            ps.setInt(7, limit);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getObject(1, UUID.class));
                }
            }
        }
        return out;
    }

    /** Why nothing fits, described from the host with the most free GPUs of the model. */
    private static Fit.Misfit explain(Connection c, Fit.Request r) throws SQLException {
        UUID most = mostFree(c, r.model());
        Fit.Decision d = Fit.onHost(r, most == null ? null : fresh(c, most, r.model(), false));
        return d instanceof Fit.Misfit m ? m
                : new Fit.Misfit("another placement took the free " + r.model() + " meanwhile; trying again shortly");
    }

    /** The ready host with the most free GPUs of the model, or null when none has any. */
    private static UUID mostFree(Connection c, String model) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(MOST_FREE)) {
            ps.setString(1, model);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getObject(1, UUID.class) : null;
            }
        }
    }

    /** The host's free GPUs, cpu and memory, read after its row is locked. */
    private static Fit.HostFree fresh(Connection c, UUID host, String model, boolean topology) throws SQLException {
        Fit.HostFree h = freshMany(c, Map.of(host, model), topology).get(host);
        return h == null ? new Fit.HostFree(host, host.toString(), List.of(), 0, 0) : h;
    }

    /** {@link #fresh} for several locked hosts, each with its model, in one statement; in host order. */
    static Map<UUID, Fit.HostFree> freshMany(Connection c, Map<UUID, String> hostModels, boolean topology) throws SQLException {
        Map<UUID, Fit.HostFree> out = new LinkedHashMap<>();
        try (PreparedStatement ps = c.prepareStatement(FRESH)) {
            ps.setArray(1, c.createArrayOf("uuid", hostModels.keySet().toArray()));
            ps.setArray(2, c.createArrayOf("text", hostModels.values().toArray()));
            ps.setBoolean(3, topology);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    UUID id = rs.getObject(2, UUID.class);
                    Fit.HostFree h = out.get(id);
                    List<Fit.FreeGpu> gpus = h == null ? new ArrayList<>() : new ArrayList<>(h.gpus());
                    if (rs.getString(5) != null) {
                        gpus.add(new Fit.FreeGpu(rs.getString(5), topology ? topology(rs.getString(6)) : Map.of()));
                    }
                    out.put(id, new Fit.HostFree(id, rs.getString(1), gpus, rs.getLong(3), rs.getLong(4)));
                }
            }
        }
        return out;
    }

    /** One placement of the one-at-a-time path: its allocations, its host's version, the workload on its host. */
    private static void write(Connection c, UUID workloadId, String tenant, Fit.Placed p, List<String> containers)
            throws SQLException {
        Pipeline steps = new Pipeline();
        allocate(steps, List.of(new Ask(workloadId, tenant, null, containers)), List.of(p));
        steps.add(PLACED, b -> {
            b.set(1, p.hostId());
            b.set(2, workloadId);
        }, null);
        steps.run(c);
    }

    /** One workload to place: its id, tenant, request and container names. */
    public record Ask(UUID workloadId, String tenant, Fit.Request request, List<String> containers) {}

    /** Adds the allocations of placed asks, one statement for all, and the bumps of their hosts' versions. */
    static void allocate(Pipeline steps, List<Ask> asks, List<Fit.Placed> decisions) {
        List<String> gpus = new ArrayList<>();
        List<String> tenants = new ArrayList<>();
        List<UUID> owners = new ArrayList<>();
        List<String> containers = new ArrayList<>();
        Set<UUID> bumped = new LinkedHashSet<>();
        for (int k = 0; k < asks.size(); k++) {
            Ask a = asks.get(k);
            Fit.Placed p = decisions.get(k);
            for (int i = 0; i < a.containers().size(); i++) {
                for (String uuid : p.gpus().get(i)) {
                    gpus.add(uuid);
                    tenants.add(a.tenant());
                    owners.add(a.workloadId());
                    containers.add(a.containers().get(i));
                }
            }
            bumped.add(p.hostId());
        }
        steps.add(WRITE, b -> {
            b.array(1, "text", gpus);
            b.array(2, "text", tenants);
            b.array(3, "uuid", owners);
            b.array(4, "text", containers);
            b.array(5, "text", gpus);
        }, null);
        // A statement per host, all in the same round trip: with an array of hosts, the generic
        // plan was a scan of every host.
        for (UUID h : bumped) {
            steps.add(BUMP, b -> b.set(1, h), null);
        }
    }

    /**
     * The host's desired workloads changed: bump its version. Long-pollers are woken after the
     * commit (see Wakeups), not by a NOTIFY inside this transaction: PostgreSQL serializes the
     * commits of notifying transactions, which would serialize placements.
     */
    public static void bumpHost(Connection c, UUID host) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(BUMP)) {
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
