package gpufleet.control.workload;

import gpufleet.common.Json;
import gpufleet.common.api.ContainerStatus;
import gpufleet.common.api.HostDesired;
import gpufleet.common.api.HostWorkload;
import gpufleet.common.api.ReportResult;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.common.api.WorkloadStatusReport;
import gpufleet.control.config.SealKey;
import gpufleet.control.db.Database;
import gpufleet.control.http.ApiException;
import gpufleet.control.http.ErrorKind;
import gpufleet.control.inventory.HostAddresses;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The host side of workloads: what a host must run, and what it reports back. */
public final class HostWorkloads {
    private static final Logger log = LoggerFactory.getLogger(HostWorkloads.class);

    private final Database db;
    private final SpecSecrets secrets;
    /** Each unopenable workload is logged once per process, not on every poll of its host. */
    private final Set<String> reported = ConcurrentHashMap.newKeySet();

    public HostWorkloads(Database db, SealKey sealKey) {
        this.db = db;
        this.secrets = new SpecSecrets(sealKey);
    }

    public long version(UUID host) {
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT desired_version FROM hosts WHERE id = ?")) {
                ps.setObject(1, host);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        throw ApiException.notFound("host " + host);
                    }
                    return rs.getLong(1);
                }
            }
        });
    }

    /** Every workload placed on the host and not yet gone, read in one snapshot with its version. */
    public HostDesired desired(UUID host) {
        return db.tx(c -> {
            long version;
            try (PreparedStatement ps = c.prepareStatement("SELECT desired_version FROM hosts WHERE id = ?")) {
                ps.setObject(1, host);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    version = rs.getLong(1);
                }
            }
            List<HostWorkload> out = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("""
                    SELECT w.id, w.tenant, w.pod_uid, w.namespace, w.name, w.spec::text, w.deletion_requested_at IS NOT NULL,
                           (SELECT json_object_agg(x.container, x.uuids) FROM (
                                SELECT a.container, json_agg(a.gpu_uuid ORDER BY a.id) AS uuids FROM gpu_allocations a
                                WHERE a.workload_id = w.id AND a.released_at IS NULL GROUP BY a.container) x),
                           (SELECT json_agg(DISTINCT (t ->> 'port')::int) FROM routes r, jsonb_array_elements(r.targets) t
                            WHERE r.tenant = w.tenant AND t ->> 'podUid' = w.pod_uid),
                           w.sealed_secrets,
                           (SELECT o.ephemeral_storage_bytes FROM offerings o WHERE o.name = w.offering),
                           (SELECT o.shm_size_bytes FROM offerings o WHERE o.name = w.offering)
                    FROM workloads w WHERE w.host_id = ? AND w.deleted_at IS NULL ORDER BY w.created_at, w.id""")) {
                ps.setObject(1, host);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        Map<String, List<String>> gpus = WorkloadViews.gpus(rs.getString(8));
                        WorkloadSpec spec = opened(rs.getString(2), spec(rs.getString(6)), rs.getBytes(10));
                        out.add(new HostWorkload(rs.getObject(1, UUID.class), rs.getString(2), rs.getString(3),
                                rs.getString(4), rs.getString(5), spec, gpus, rs.getBoolean(7), ports(rs.getString(9)),
                                rs.getObject(11, Long.class), rs.getObject(12, Long.class)));
                    }
                }
            }
            return new HostDesired(version, out);
        });
    }

    /**
     * The spec with its secrets, opened here only: this is the one answer that carries them, to the
     * host the workload is placed on. A value the configured keys cannot open is the operator's
     * problem (the key file was swapped or lost), not the host's: the whole answer is a 500 naming
     * the keys, so the host keeps running what it has instead of removing what it was not sent.
     */
    private WorkloadSpec opened(String tenant, WorkloadSpec clear, byte[] sealed) {
        try {
            return secrets.open(tenant, clear, sealed);
        } catch (SealKey.SealException e) {
            if (reported.add(e.getMessage())) {
                log.error("{}; its host is sent nothing until then", e.getMessage());
            }
            throw new ApiException(ErrorKind.INTERNAL, e.getMessage() + "; the operator must fix the control-api's sealing key");
        }
    }

    /**
     * Stores a host's report on one of its workloads, unless a newer one is stored. When the
     * workload was being deleted and the host says its containers are gone, its GPUs are released.
     * An evicted workload (drain) keeps its phase while its containers stop.
     */
    public ReportResult report(UUID host, UUID workload, WorkloadStatusReport r) {
        return db.tx(c -> {
            Stored s = stored(c, host, workload);
            if (r.generation() <= s.generation()) {
                return new ReportResult(false, s.generation());
            }
            if (r.gone() && s.deleting()) {
                // The host's last word on each container (terminated): a deleted pod never shows one running.
                if (!r.containers().isEmpty()) {
                    store(c, workload, r, null, null);
                }
                release(c, workload);
                return new ReportResult(true, r.generation());
            }
            HostAddresses.checkPorts(c, host, r.ports());
            String phase = s.evicted() || TERMINAL.contains(s.phase()) ? s.phase() : phase(r.containers(), r.initContainers(), s.restartPolicy());
            store(c, workload, r, phase, r.ports());
            if (!s.evicted() && TERMINAL.contains(phase)) {
                finish(c, workload);
            }
            return new ReportResult(true, r.generation());
        });
    }

    /** The report's containers and generation; {@code phase} and {@code ports} replace the stored ones unless null. */
    private static void store(Connection c, UUID workload, WorkloadStatusReport r, String phase, Map<String, String> ports)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                UPDATE workloads SET status = jsonb_build_object('containers', ?::jsonb, 'initContainers', ?::jsonb),
                    status_generation = ?,
                    phase = coalesce(?, phase), published = coalesce(?::jsonb, published), updated_at = now() WHERE id = ?""")) {
            ps.setString(1, Json.mapper().writeValueAsString(r.containers()));
            ps.setString(2, Json.mapper().writeValueAsString(r.initContainers()));
            ps.setLong(3, r.generation());
            ps.setString(4, phase);
            ps.setString(5, ports == null ? null : Json.mapper().writeValueAsString(ports));
            ps.setObject(6, workload);
            ps.executeUpdate();
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Phases a pod never leaves, as the kubelet's: nothing of it will run again. */
    static final Set<String> TERMINAL = Set.of("succeeded", "failed");

    /** The stored row a report is checked against, locked for the report's transaction. */
    private record Stored(String restartPolicy, boolean deleting, long generation, String phase, boolean evicted) {}

    private static Stored stored(Connection c, UUID host, UUID workload) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT spec ->> 'restartPolicy', deletion_requested_at IS NOT NULL, status_generation, phase,
                       coalesce(reason IN ('Evicted', 'DeadlineExceeded'), false)
                FROM workloads WHERE id = ? AND host_id = ? AND deleted_at IS NULL FOR UPDATE""")) {
            ps.setObject(1, workload);
            ps.setObject(2, host);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw ApiException.notFound("workload " + workload + " on this host");
                }
                return new Stored(rs.getString(1), rs.getBoolean(2), rs.getLong(3), rs.getString(4), rs.getBoolean(5));
            }
        }
    }

    /**
     * A finished pod holds nothing from now on: its GPUs go back to the pool and its cpu and
     * memory stop counting (finished_at), while its exited containers stay on the host for their
     * logs until the pod is deleted. Done once; the later release on deletion finds nothing left
     * to free and only marks the workload deleted.
     */
    private static void finish(Connection c, UUID workload) throws SQLException {
        try (PreparedStatement w = c.prepareStatement(
                "UPDATE workloads SET finished_at = now() WHERE id = ? AND finished_at IS NULL")) {
            w.setObject(1, workload);
            if (w.executeUpdate() == 1) {
                freeGpus(c, workload, "finished");
            }
        }
    }

    /**
     * Frees the workload's GPUs and ends their usage intervals (V27) in the same statement, so a
     * GPU is never free while still metered, nor metered twice. {@code endReason} null: deleted,
     * or evicted when the workload's reason says a host or a drain evicted it.
     */
    private static void freeGpus(Connection c, UUID workload, String endReason) throws SQLException {
        try (PreparedStatement a = c.prepareStatement("""
                WITH freed AS (UPDATE gpu_allocations SET released_at = now() WHERE workload_id = ? AND released_at IS NULL
                               RETURNING id, gpu_uuid),
                ended AS (UPDATE usage_intervals SET ended_at = usage_clock(),
                              end_reason = coalesce(?, (SELECT CASE WHEN w.reason IN ('Evicted', 'DeadlineExceeded') THEN 'evicted'
                                                                    ELSE 'deleted' END FROM workloads w WHERE w.id = ?))
                          WHERE allocation_id IN (SELECT id FROM freed))
                UPDATE gpus SET allocated = false WHERE uuid IN (SELECT gpu_uuid FROM freed)""")) {
            a.setObject(1, workload);
            a.setString(2, endReason);
            a.setObject(3, workload);
            a.executeUpdate();
        }
    }

    /** Frees the workload's GPUs and marks it deleted; an evicted one keeps the phase its pod shows. */
    static void release(Connection c, UUID workload) throws SQLException {
        freeGpus(c, workload, null);
        try (PreparedStatement w = c.prepareStatement("""
                UPDATE workloads SET phase = CASE WHEN reason IN ('Evicted', 'DeadlineExceeded') THEN phase ELSE 'deleted' END,
                    deleted_at = now(), updated_at = now() WHERE id = ?""")) {
            w.setObject(1, workload);
            w.executeUpdate();
        }
    }

    /**
     * The pod's phase as the kubelet words it ("placed" is Kubernetes' Pending on a host): a
     * container not started yet keeps the pod Pending; one running makes it Running; when all
     * have stopped, Always (and OnFailure after a failure) means Running while they restart, and
     * otherwise Succeeded or Failed. A container waiting to be started again after an earlier run
     * (CrashLoopBackOff: restartCount above 0) counts as stopped, as the kubelet counts one with
     * a last termination state, so a crash loop stays Running. Under Never nothing is restarted:
     * a waiting container there is one still being started, never a finished one.
     */
    static String phase(List<ContainerStatus> containers, List<ContainerStatus> inits, String restartPolicy) {
        // The kubelet's rule: under Never an init container that failed fails the pod; otherwise the
        // app containers wait (PodInitializing) until every init container is done, and the pod is
        // Pending. Sidecars report their end only once the app containers ended (the pod's phase is
        // then final), so they never decide it.
        boolean initFailed = inits.stream().anyMatch(s -> s.state().equals("terminated") && !Integer.valueOf(0).equals(s.exitCode()));
        return "Never".equals(restartPolicy) && initFailed ? "failed" : phase(containers, restartPolicy);
    }

    static String phase(List<ContainerStatus> containers, String restartPolicy) {
        if (containers.isEmpty()) {
            return "placed";
        }
        String policy = restartPolicy == null ? "Always" : restartPolicy;
        int running = 0;
        int waiting = 0;
        int stopped = 0;
        int succeeded = 0;
        for (ContainerStatus s : containers) {
            switch (s.state()) {
                case "running" -> running++;
                case "terminated" -> {
                    stopped++;
                    succeeded += Integer.valueOf(0).equals(s.exitCode()) ? 1 : 0;
                }
                default -> {
                    if (s.restartCount() > 0 && !policy.equals("Never")) {
                        stopped++;
                    } else {
                        waiting++;
                    }
                }
            }
        }
        if (waiting > 0) {
            return "placed";
        }
        if (running > 0 || policy.equals("Always")) {
            return "running";
        }
        if (stopped == succeeded) {
            return "succeeded";
        }
        return policy.equals("Never") ? "failed" : "running";
    }

    private static List<Integer> ports(String json) {
        if (json == null) {
            return List.of();
        }
        try {
            return List.of(Json.mapper().readValue(json, Integer[].class));
        } catch (IOException e) {
            throw new IllegalStateException("route ports are unreadable: " + e.getMessage(), e);
        }
    }

    private static WorkloadSpec spec(String json) {
        try {
            return Json.mapper().readValue(json, WorkloadSpec.class);
        } catch (IOException e) {
            throw new IllegalStateException("stored workload spec is unreadable: " + e.getMessage(), e);
        }
    }
}
