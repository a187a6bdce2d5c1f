package gpufleet.faults;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * GPU Fleet's guarantees, checked on what a scenario left: the database and the Docker Engine.
 * Each check returns what breaks it, so that a failure lists every violation at once.
 */
final class Invariants {
    private Invariants() {}

    /** Everything that breaks a guarantee, in words; empty when all hold. */
    static List<String> violations(Connection db, Set<String> hosts, Set<String> acknowledged) throws SQLException {
        return violations(db, hosts, acknowledged, Docker.managed());
    }

    /** As above, with the containers of the engine the hosts use. */
    static List<String> violations(Connection db, Set<String> hosts, Set<String> acknowledged, List<Docker.Box> boxes)
            throws SQLException {
        List<String> out = new ArrayList<>();
        out.addAll(rows(db, """
                SELECT 'GPU ' || a.gpu_uuid || ' is held by ' || count(*) || ' live workloads'
                FROM gpu_allocations a JOIN workloads w ON w.id = a.workload_id
                WHERE a.released_at IS NULL AND w.deleted_at IS NULL GROUP BY a.gpu_uuid HAVING count(*) > 1"""));
        Map<String, String> live = new HashMap<>(); // workload id -> phase, for workloads not deleted
        Map<String, Set<String>> held = new HashMap<>(); // workload id -> GPUs the database gives it
        try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery("""
                SELECT w.id::text, w.phase, a.gpu_uuid FROM workloads w
                LEFT JOIN gpu_allocations a ON a.workload_id = w.id AND a.released_at IS NULL
                WHERE w.deleted_at IS NULL""")) {
            while (rs.next()) {
                live.put(rs.getString(1), rs.getString(2));
                if (rs.getString(3) != null) {
                    held.computeIfAbsent(rs.getString(1), k -> new HashSet<>()).add(rs.getString(3));
                }
            }
        }
        Map<String, String> runningOn = new HashMap<>(); // GPU -> the running container that has it
        Set<String> runningNames = new HashSet<>(); // workload/container of each running container
        for (Docker.Box b : boxes) {
            if (!hosts.contains(b.host())) {
                continue; // another test's container on the shared engine
            }
            if (!live.containsKey(b.workload())) {
                out.add("container " + b.id().substring(0, 12) + " of workload " + b.workload() + " has no live workload (orphan)");
                continue;
            }
            if (b.running() && !runningNames.add(b.workload() + "/" + b.container())) {
                out.add("container " + b.container() + " of workload " + b.workload() + " runs twice");
            }
            for (String gpu : b.running() ? b.gpus() : List.<String>of()) {
                if (!held.getOrDefault(b.workload(), Set.of()).contains(gpu)) {
                    out.add("container " + b.id().substring(0, 12) + " runs on " + gpu + ", which the database does not give its workload");
                }
                String other = runningOn.put(gpu, b.id());
                if (other != null) {
                    out.add("GPU " + gpu + " is used by two running containers: " + other.substring(0, 12) + " and " + b.id().substring(0, 12));
                }
            }
        }
        Set<String> known = new HashSet<>(rows(db, "SELECT pod_uid FROM workloads"));
        for (String uid : acknowledged) {
            if (!known.contains(uid)) {
                out.add("workload " + uid + " was acknowledged and is lost");
            }
        }
        long pending = count(db, "SELECT count(*) FROM workloads WHERE phase = 'pending' AND deleted_at IS NULL");
        long free = count(db, """
                SELECT count(*) FROM gpus g JOIN hosts h ON h.id = g.host_id
                WHERE g.healthy AND g.present AND NOT g.allocated AND h.liveness = 'ready' AND NOT h.cordoned""");
        if (pending > 0 && free > 0) {
            out.add(pending + " workload(s) pending while " + free + " GPU(s) are free");
        }
        return out;
    }

    static long count(Connection db, String sql) throws SQLException {
        try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static List<String> rows(Connection db, String sql) throws SQLException {
        List<String> out = new ArrayList<>();
        try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }
}
