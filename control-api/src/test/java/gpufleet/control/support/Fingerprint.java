package gpufleet.control.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/** What a refused request must leave as it was: every table a request can write, as row counts and digests. */
public final class Fingerprint {
    /**
     * Tables no request writes, left out: the migrations' own record, and what the dashboard's
     * minute sampler writes in the background. Every other table is in it.
     */
    static final Set<String> BACKGROUND_ONLY = Set.of("flyway_schema_history", "telemetry_rounds", "gpu_telemetry", "tenant_gpu_usage");

    private Fingerprint() {}

    /** Each table's row count and a digest of its rows, except heartbeat times (they move with every beat). */
    public static Map<String, String> of(ApiFixture fx) throws Exception {
        Map<String, String> digests = new TreeMap<>();
        try (Connection c = fx.database.connect(); Statement s = c.createStatement()) {
            List<String> tables = new ArrayList<>();
            try (ResultSet rs = s.executeQuery("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")) {
                while (rs.next()) {
                    tables.add(rs.getString(1));
                }
            }
            tables.removeAll(BACKGROUND_ONLY);
            for (String table : tables) {
                String rows = table.equals("host_heartbeats") ? "(SELECT host_id FROM host_heartbeats)" : table;
                try (ResultSet rs = s.executeQuery("SELECT count(*) || ' rows, ' || coalesce(md5(string_agg(r::text, '|' ORDER BY r::text)), '-')"
                        + " FROM " + rows + " r")) {
                    rs.next();
                    digests.put(table, rs.getString(1));
                }
            }
        }
        assertThat(digests).as("the fingerprint covers every table a request writes")
                .containsKeys("hosts", "host_heartbeats", "host_inventory", "gpus", "gpu_allocations", "tenants", "offerings",
                        "tenant_offerings", "tokens", "workloads", "routes", "events", "dashboard_sessions");
        return digests;
    }
}
