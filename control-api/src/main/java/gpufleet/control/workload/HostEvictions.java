package gpufleet.control.workload;

import gpufleet.common.api.WorkloadEviction;
import gpufleet.control.db.Database;
import gpufleet.control.http.ApiException;
import gpufleet.control.placement.Placer;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.UUID;

/**
 * A host evicting a workload it runs, as a kubelet evicts a pod past its ephemeral storage or ends
 * one past its activeDeadlineSeconds: the workload fails with the host's reason (Evicted,
 * DeadlineExceeded) and message, and its deletion is requested, so
 * the host removes its containers (freeing the disk) and the GPUs come free when it says they are
 * gone, exactly as after a drain. A host can only evict its own workloads; a workload that already
 * succeeded or is being deleted keeps what it has, so an eviction said twice changes nothing.
 */
public final class HostEvictions {
    private final Database db;
    private final Wakeups wakeups;

    public HostEvictions(Database db, Wakeups wakeups) {
        this.db = db;
        this.wakeups = wakeups;
    }

    /** True when this call evicted it; false when it was already ending. */
    boolean evict(UUID host, UUID workload, WorkloadEviction e) {
        boolean evicted = db.tx(c -> {
            try (PreparedStatement ps = c.prepareStatement("""
                    SELECT deletion_requested_at IS NULL AND phase <> 'succeeded' FROM workloads
                    WHERE id = ? AND host_id = ? AND deleted_at IS NULL FOR UPDATE""")) {
                ps.setObject(1, workload);
                ps.setObject(2, host);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        throw ApiException.notFound("workload " + workload + " on this host");
                    }
                    if (!rs.getBoolean(1)) {
                        return false;
                    }
                }
            }
            try (PreparedStatement ps = c.prepareStatement("""
                    UPDATE workloads SET phase = 'failed', reason = ?, message = ?, deletion_requested_at = now(),
                        updated_at = now() WHERE id = ?""")) {
                ps.setString(1, e.reason());
                ps.setString(2, e.message());
                ps.setObject(3, workload);
                ps.executeUpdate();
            }
            Placer.bumpHost(c, host);
            return true;
        });
        if (evicted) {
            wakeups.changed(host);
        }
        return evicted;
    }
}
