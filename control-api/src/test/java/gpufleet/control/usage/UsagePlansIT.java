package gpufleet.control.usage;

import static org.assertj.core.api.Assertions.assertThat;

import gpufleet.control.support.ApiFixture;
import gpufleet.control.usage.UsageRequest.Dimension;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The usage queries and the retention prune read usage_intervals through its indexes, never by a
 * whole scan, on a year of intervals of 1,000 tenants before and after ANALYZE, with the plan a
 * connection keeps (generic) and a custom one: a tenant's month must not cost the fleet's year.
 */
class UsagePlansIT {
    private static final String MONTH = "'2026-05-01T00:00:00Z', '2026-06-01T00:00:00Z'";

    private record Case(String name, String sql, String types, String values, String index) {}

    private static final List<Case> CASES = List.of(
            new Case("a tenant's month by model", UsageQueries.sql(List.of(Dimension.MODEL), true),
                    "timestamptz, timestamptz, timestamptz, timestamptz, text, int", MONTH + ", " + MONTH + ", 'tenant-7', 100001",
                    "usage_intervals_tenant_end"),
            new Case("a tenant's month by day and offering", UsageQueries.sql(List.of(Dimension.DAY, Dimension.OFFERING), true),
                    "timestamptz, timestamptz, timestamptz, timestamptz, timestamptz, timestamptz, text, int",
                    MONTH + ", " + MONTH + ", " + MONTH + ", 'tenant-7', 100001", "usage_intervals_tenant_end"),
            new Case("every tenant's last day", UsageQueries.sql(List.of(Dimension.TENANT), false),
                    "timestamptz, timestamptz, timestamptz, timestamptz, int",
                    "'2026-12-30T00:00:00Z', '2026-12-31T00:00:00Z', '2026-12-30T00:00:00Z', '2026-12-31T00:00:00Z', 100001",
                    "usage_intervals_end"));

    @Test
    void usageQueriesAndThePruneUseTheirIndexesBeforeAndAfterAnalyze() throws SQLException {
        try (ApiFixture fx = ApiFixture.start(); Connection c = fx.database.connect(); Statement s = c.createStatement()) {
            s.execute("ALTER TABLE usage_intervals SET (autovacuum_enabled = false)");
            // 200,000 intervals of up to 12 hours over 2026, a few still open.
            s.execute("""
                    INSERT INTO usage_intervals (allocation_id, tenant, cluster, offering, namespace, pod_name, pod_uid, workload_id,
                                                 host_id, gpu_uuid, gpu_model, started_at, ended_at, end_reason)
                    SELECT i, 'tenant-' || i % 1000, 'default', 'o' || i % 3, 'ns', 'p' || i, 'p' || i, gen_random_uuid(),
                           gen_random_uuid(), 'GPU-' || i % 8000, 'M' || i % 3, t, CASE WHEN i % 5000 = 0 THEN NULL ELSE e END,
                           CASE WHEN i % 5000 = 0 THEN NULL ELSE 'deleted' END
                    FROM generate_series(1, 200000) i,
                         LATERAL (SELECT timestamptz '2026-01-01' + (i * interval '157 seconds') AS t) s,
                         LATERAL (SELECT s.t + (i % 720) * interval '1 minute' AS e) x""");
            explainAll(s, "never analyzed");
            s.execute("ANALYZE usage_intervals");
            explainAll(s, "after ANALYZE");
        }
    }

    private static void explainAll(Statement s, String state) throws SQLException {
        for (String mode : List.of("force_generic_plan", "force_custom_plan")) {
            s.execute("SET plan_cache_mode = " + mode);
            for (Case x : CASES) {
                String plan = explain(s, x.sql(), x.types(), x.values());
                assertThat(plan).as("%s, %s, %s:%n%s", x.name(), state, mode, plan).doesNotContain("Seq Scan").contains(x.index());
            }
            String prune = explain(s, UsageRetention.PRUNE, "int, int", "13, 50000");
            assertThat(prune).as("the prune, %s, %s:%n%s", state, mode, prune).doesNotContain("Seq Scan").contains("usage_intervals_end");
        }
    }

    private static String explain(Statement s, String sql, String types, String values) throws SQLException {
        StringBuilder numbered = new StringBuilder();
        int n = 0;
        for (char ch : sql.toCharArray()) {
            numbered.append(ch == '?' ? "$" + ++n : String.valueOf(ch));
        }
        s.execute("PREPARE usage_plan (" + types + ") AS " + numbered);
        StringBuilder plan = new StringBuilder();
        try (ResultSet rs = s.executeQuery("EXPLAIN (COSTS OFF) EXECUTE usage_plan (" + values + ")")) {
            while (rs.next()) {
                plan.append(rs.getString(1)).append('\n');
            }
        }
        s.execute("DEALLOCATE usage_plan");
        return plan.toString();
    }
}
