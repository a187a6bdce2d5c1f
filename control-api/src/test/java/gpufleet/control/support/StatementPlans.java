package gpufleet.control.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * Checks that statements keep their plan whatever the statistics: PostgreSQL plans each once
 * per connection and keeps that plan until the table is next analyzed, so a plan made on a table
 * it has not analyzed (a fresh deployment, a table just filled; autovacuum catches up within a
 * minute or so, here never) must be as good as one made after ANALYZE. A fleet of 2,000 hosts x 8
 * GPUs of three models; then 60% of the GPUs held by workloads of tenant "plans"; then ANALYZE.
 */
public final class StatementPlans {
    private static final List<String> TABLES = List.of("hosts", "host_inventory", "host_usage", "host_free", "gpus", "gpu_allocations",
            "workloads", "tenants", "offerings", "tenant_offerings");
    /** A host of the fleet, as an SQL expression. */
    public static final String HOST = "md5('plans-host-1')::uuid";

    /** A statement, its parameter types and values for PREPARE/EXECUTE, and the indexes its plan must use. */
    public record Case(String name, String sql, String types, String values, List<String> uses) {}

    private StatementPlans() {}

    /**
     * Explains every case, generic and custom plan, on the empty, the filled and the analyzed
     * fleet: no sequential scan, every index named used; {@code more} checks a plan further.
     */
    public static void check(List<Case> cases, BiConsumer<Case, String> more) throws SQLException {
        check(List.of(), cases, more);
    }

    /** {@link #check(List, BiConsumer)} with these settings on the session, as the statements' callers set them. */
    public static void check(List<String> settings, List<Case> cases, BiConsumer<Case, String> more) throws SQLException {
        try (ApiFixture fx = ApiFixture.start(); Connection c = fx.database.connect(); Statement s = c.createStatement()) {
            for (String setting : settings) {
                s.execute("SET " + setting);
            }
            for (String t : TABLES) {
                s.execute("ALTER TABLE " + t + " SET (autovacuum_enabled = false)");
            }
            s.execute("INSERT INTO tenants (name) VALUES ('plans')");
            s.execute("""
                    INSERT INTO hosts (id, name, liveness) SELECT md5('plans-host-' || i)::uuid, 'plans-' || i, 'ready'
                    FROM generate_series(1, 2000) i""");
            s.execute("""
                    INSERT INTO host_inventory (host_id, generation, cpu_millis, memory_bytes, allocatable_cpu_millis, allocatable_memory_bytes)
                    SELECT id, 1, 64000, 274877906944, 63000, 269892665344 FROM hosts""");
            s.execute("""
                    INSERT INTO gpus (uuid, host_id, idx, model, memory_bytes, healthy)
                    SELECT 'GPU-' || h.id || '-' || g, h.id, g, 'M' || (1 + abs(hashtext(h.name)) % 3), 1, true
                    FROM hosts h, generate_series(0, 7) g""");
            assertPlans(c, "no workloads, never analyzed", cases, more);

            s.execute("""
                    INSERT INTO workloads (id, tenant, pod_uid, namespace, name, offering, spec, gpu_count, cpu_millis, memory_bytes,
                                           host_id, phase)
                    SELECT md5(g.uuid)::uuid, 'plans', g.uuid, 'p', g.uuid, 'o', '{}', 1, 1000, 1073741824, g.host_id, 'placed'
                    FROM gpus g WHERE abs(hashtext(g.uuid)) % 10 < 6""");
            s.execute("""
                    INSERT INTO gpu_allocations (gpu_uuid, tenant, workload_id, container)
                    SELECT pod_uid, 'plans', id, 'main' FROM workloads""");
            s.execute("UPDATE gpus SET allocated = true WHERE uuid IN (SELECT gpu_uuid FROM gpu_allocations)");
            try (ResultSet rs = s.executeQuery("""
                    SELECT (SELECT sum(cpu_millis) FROM host_usage), (SELECT sum(cpu_millis) FROM workloads),
                           (SELECT sum(free) FROM host_free), (SELECT count(*) FROM gpus WHERE NOT allocated)""")) {
                rs.next();
                assertThat(rs.getLong(1)).as("host_usage holds what the workloads hold").isEqualTo(rs.getLong(2)).isGreaterThan(0);
                assertThat(rs.getLong(3)).as("host_free counts the free GPUs").isEqualTo(rs.getLong(4)).isGreaterThan(0);
            }
            assertPlans(c, "60% of GPUs held, never analyzed", cases, more);

            s.execute("ANALYZE " + String.join(", ", TABLES));
            assertPlans(c, "after ANALYZE", cases, more);
        }
    }

    /** The generic plan (the one a connection keeps) and a custom one, for every statement. */
    private static void assertPlans(Connection c, String state, List<Case> cases, BiConsumer<Case, String> more) throws SQLException {
        try (Statement s = c.createStatement()) {
            for (String mode : List.of("force_generic_plan", "force_custom_plan")) {
                s.execute("SET plan_cache_mode = " + mode);
                for (int k = 0; k < cases.size(); k++) {
                    Case x = cases.get(k);
                    String name = "plans_" + k;
                    s.execute("PREPARE " + name + " (" + x.types() + ") AS " + numbered(x.sql()));
                    StringBuilder plan = new StringBuilder();
                    try (ResultSet rs = s.executeQuery("EXPLAIN (COSTS OFF) EXECUTE " + name + " (" + x.values() + ")")) {
                        while (rs.next()) {
                            plan.append(rs.getString(1)).append('\n');
                        }
                    }
                    s.execute("DEALLOCATE " + name);
                    String why = x.name() + ", " + state + ", " + mode + ":\n" + plan;
                    assertThat(plan.toString()).as(why).doesNotContain("Seq Scan").contains(x.uses());
                    more.accept(x, why);
                }
            }
        }
    }

    /** JDBC's ? placeholders as PREPARE's $1, $2, ... */
    private static String numbered(String sql) {
        StringBuilder out = new StringBuilder();
        int n = 0;
        for (char ch : sql.toCharArray()) {
            if (ch == '?') {
                out.append('$').append(++n);
            } else {
                out.append(ch);
            }
        }
        return out.toString();
    }
}
