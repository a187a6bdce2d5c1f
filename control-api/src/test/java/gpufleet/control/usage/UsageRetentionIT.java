package gpufleet.control.usage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import gpufleet.control.config.ControlApiConfig;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.SimulatedClock;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Usage is kept for GPUFLEET_USAGE_RETENTION_MONTHS calendar months after it ended, open intervals always. */
class UsageRetentionIT {
    @Test
    void intervalsThatEndedBeforeTheRetentionArePrunedAndNothingElse() throws SQLException {
        try (ApiFixture fx = ApiFixture.start(Map.of("GPUFLEET_USAGE_RETENTION_MONTHS", "13"))) {
            SimulatedClock clock = SimulatedClock.install(fx.database, Instant.parse("2026-12-15T12:00:00Z"));
            try (Connection c = fx.database.connect(); Statement s = c.createStatement()) {
                s.execute("""
                        INSERT INTO usage_intervals (allocation_id, tenant, cluster, offering, namespace, pod_name, pod_uid, workload_id,
                                                     host_id, gpu_uuid, gpu_model, started_at, ended_at, end_reason)
                        SELECT i, 't', 'default', 'o', 'ns', p, p, gen_random_uuid(), gen_random_uuid(), 'GPU-' || i, 'M',
                               s::timestamptz, e::timestamptz, CASE WHEN e IS NULL THEN NULL ELSE 'deleted' END
                        FROM (VALUES (1, 'ended-14-months-ago', '2025-10-01T00:00:00Z', '2025-10-15T11:00:00Z'),
                                     (2, 'ended-a-second-too-early', '2025-11-01T00:00:00Z', '2025-11-15T11:59:59Z'),
                                     (3, 'ended-exactly-13-months-ago', '2025-11-01T00:00:00Z', '2025-11-15T12:00:00Z'),
                                     (4, 'ended-12-months-ago', '2025-12-01T00:00:00Z', '2025-12-15T00:00:00Z'),
                                     (5, 'open-for-two-years', '2024-12-01T00:00:00Z', NULL)) v (i, p, s, e)""");
            }
            assertThat(fx.api.usageRetention().runOnce()).isEqualTo(2);
            assertThat(pods(fx)).containsExactly("ended-exactly-13-months-ago", "ended-12-months-ago", "open-for-two-years");
            assertThat(fx.api.usageRetention().runOnce()).as("a second round finds nothing").isZero();
            clock.set(Instant.parse("2027-01-15T12:00:00Z"));
            assertThat(fx.api.usageRetention().runOnce()).isEqualTo(2);
            assertThat(pods(fx)).containsExactly("open-for-two-years");
        }
    }

    @Test
    void theRetentionIsAWholeNumberOfMonthsFromOneTo120() {
        for (String bad : List.of("0", "121", "13m", "")) {
            Map<String, String> values = new HashMap<>(ControlApiConfig.DEFAULTS);
            values.put("GPUFLEET_USAGE_RETENTION_MONTHS", bad);
            assertThatThrownBy(() -> ControlApiConfig.from(values)).as(bad).hasMessageContaining("GPUFLEET_USAGE_RETENTION_MONTHS");
        }
        assertThat(ControlApiConfig.DEFAULTS).containsEntry("GPUFLEET_USAGE_RETENTION_MONTHS", "13");
    }

    private static List<String> pods(ApiFixture fx) throws SQLException {
        List<String> out = new ArrayList<>();
        try (Connection c = fx.database.connect(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT pod_uid FROM usage_intervals ORDER BY allocation_id")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }
}
