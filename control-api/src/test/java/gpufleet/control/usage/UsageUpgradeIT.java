package gpufleet.control.usage;

import static org.assertj.core.api.Assertions.assertThat;

import gpufleet.control.support.TestDatabase;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;

/**
 * Upgrading a running fleet to metering (V27): every allocation, held or released, becomes an
 * interval with its times and the reason its end can be told by, so a GPU held across the
 * upgrade is metered from its real start.
 */
class UsageUpgradeIT {
    @Test
    void allocationsFromBeforeMeteringBecomeIntervals() throws SQLException {
        try (TestDatabase db = TestDatabase.create()) {
            flyway(db, "26").migrate();
            try (Connection c = db.connect(); Statement s = c.createStatement()) {
                s.execute("INSERT INTO tenants (name) VALUES ('acme')");
                s.execute("INSERT INTO hosts (id, name, liveness) VALUES (md5('h')::uuid, 'gpu-01', 'ready')");
                s.execute("""
                        INSERT INTO host_inventory (host_id, generation, cpu_millis, memory_bytes, allocatable_cpu_millis,
                                                    allocatable_memory_bytes)
                        VALUES (md5('h')::uuid, 1, 64000, 274877906944, 63000, 269892665344)""");
                s.execute("""
                        INSERT INTO gpus (uuid, host_id, idx, model, memory_bytes, healthy)
                        SELECT 'GPU-' || i, md5('h')::uuid, i, 'NVIDIA RTX A6000', 1, true FROM generate_series(0, 2) i""");
                s.execute("""
                        INSERT INTO workloads (id, tenant, pod_uid, namespace, name, offering, spec, gpu_count, cpu_millis,
                                               memory_bytes, host_id, phase, reason, finished_at, deleted_at)
                        VALUES (md5('held')::uuid, 'acme', 'held', 'default', 'held', '1xa6000', '{}', 1, 1000, 1, md5('h')::uuid,
                                'running', NULL, NULL, NULL),
                               (md5('done')::uuid, 'acme', 'done', 'default', 'done', '1xa6000', '{}', 1, 1000, 1, md5('h')::uuid,
                                'succeeded', NULL, '2026-11-02T01:00:00Z', NULL),
                               (md5('lost')::uuid, 'acme', 'lost', 'ml', 'lost', '1xa6000', '{"cluster": "eu"}', 1, 1000, 1,
                                md5('h')::uuid, 'failed', 'HostLost', NULL, '2026-11-03T05:00:00Z')""");
                s.execute("""
                        INSERT INTO gpu_allocations (gpu_uuid, tenant, workload_id, container, allocated_at, released_at)
                        VALUES ('GPU-0', 'acme', md5('held')::uuid, 'main', '2026-11-01T00:00:00Z', NULL),
                               ('GPU-1', 'acme', md5('done')::uuid, 'main', '2026-11-02T00:00:00Z', '2026-11-02T01:00:00Z'),
                               ('GPU-2', 'acme', md5('lost')::uuid, 'main', '2026-11-03T00:00:00Z', '2026-11-03T05:00:00Z')""");
            }
            flyway(db, "latest").migrate();
            assertThat(intervals(db)).containsExactly(
                    "held default/default/held NVIDIA RTX A6000 2026-11-01 00:00:00 open",
                    "done default/default/done NVIDIA RTX A6000 2026-11-02 00:00:00 2026-11-02 01:00:00 finished",
                    "lost eu/ml/lost NVIDIA RTX A6000 2026-11-03 00:00:00 2026-11-03 05:00:00 host-lost");
        }
    }

    private static Flyway flyway(TestDatabase db, String target) {
        return Flyway.configure().dataSource(db.url(), TestDatabase.USER, TestDatabase.PASSWORD)
                .locations("classpath:db/migration").target(target).load();
    }

    private static List<String> intervals(TestDatabase db) throws SQLException {
        List<String> out = new ArrayList<>();
        try (Connection c = db.connect(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("""
                     SELECT pod_uid || ' ' || cluster || '/' || namespace || '/' || pod_name || ' ' || gpu_model || ' '
                            || to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' '
                            || coalesce(to_char(ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' ' || end_reason, 'open')
                     FROM usage_intervals ORDER BY allocation_id""")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }
}
