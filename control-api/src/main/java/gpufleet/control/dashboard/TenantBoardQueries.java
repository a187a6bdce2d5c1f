package gpufleet.control.dashboard;

import gpufleet.control.dashboard.BoardViews.DayHours;
import gpufleet.control.dashboard.BoardViews.ModelSeries;
import gpufleet.control.dashboard.BoardViews.TenantRow;
import gpufleet.control.dashboard.BoardViews.TenantUsage;
import gpufleet.control.db.Database;
import gpufleet.control.http.ApiException;
import gpufleet.control.usage.UsageQueries;
import gpufleet.control.usage.UsageRequest;
import gpufleet.control.usage.UsageRequest.Dimension;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/** Tenants' GPU usage: what each holds now, and per model over the sampled minutes of a window. */
final class TenantBoardQueries {
    /** Days of metered usage the tenant's page shows, today included. */
    static final int DAYS = 7;

    private final Database db;
    private final UsageQueries metered;

    TenantBoardQueries(Database db) {
        this.db = db;
        this.metered = new UsageQueries(db);
    }

    /** Every tenant with the GPUs its live allocations hold, per model. */
    List<TenantRow> tenants() {
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement("""
                    SELECT t.name, t.disabled_at IS NOT NULL, g.model, count(a.id)
                    FROM tenants t
                    LEFT JOIN gpu_allocations a ON a.tenant = t.name AND a.released_at IS NULL
                    LEFT JOIN gpus g ON g.uuid = a.gpu_uuid
                    GROUP BY t.name, t.disabled_at, g.model ORDER BY t.name, g.model""");
                 ResultSet rs = ps.executeQuery()) {
                Map<String, Boolean> disabled = new LinkedHashMap<>();
                Map<String, Map<String, Long>> gpus = new HashMap<>();
                while (rs.next()) {
                    String name = rs.getString(1);
                    disabled.put(name, rs.getBoolean(2));
                    Map<String, Long> byModel = gpus.computeIfAbsent(name, k -> new TreeMap<>());
                    if (rs.getString(3) != null) {
                        byModel.put(rs.getString(3), rs.getLong(4));
                    }
                }
                return disabled.entrySet().stream()
                        .map(e -> new TenantRow(e.getKey(), e.getValue(), gpus.get(e.getKey()))).toList();
            }
        });
    }

    /** The tenant's usage over the last {@code hours}: one point per sampled minute, then now. */
    TenantUsage usage(String tenant, int hours) {
        TenantRow now = tenants().stream().filter(t -> t.name().equals(tenant)).findFirst()
                .orElseThrow(() -> ApiException.notFound("tenant " + tenant));
        List<Long> times = new ArrayList<>();
        Map<Long, Map<String, Long>> samples = new LinkedHashMap<>();
        db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement("""
                    SELECT r.sampled_at, u.gpu_model, u.gpus
                    FROM telemetry_rounds r
                    LEFT JOIN tenant_gpu_usage u ON u.sampled_at = r.sampled_at AND u.tenant = ?
                    WHERE r.sampled_at > now() - make_interval(hours => ?)
                    ORDER BY r.sampled_at""")) {
                ps.setString(1, tenant);
                ps.setInt(2, hours);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        Map<String, Long> at = samples.computeIfAbsent(rs.getTimestamp(1).getTime(), k -> new TreeMap<>());
                        if (rs.getString(2) != null) {
                            at.put(rs.getString(2), rs.getLong(3));
                        }
                    }
                }
            }
            return null;
        });
        samples.put(System.currentTimeMillis(), now.gpusByModel());
        TreeSet<String> models = new TreeSet<>();
        samples.values().forEach(m -> models.addAll(m.keySet()));
        times.addAll(samples.keySet());
        List<ModelSeries> series = new ArrayList<>();
        for (String model : models) {
            series.add(new ModelSeries(model, samples.values().stream().map(m -> m.getOrDefault(model, 0L)).toList()));
        }
        return new TenantUsage(tenant, now.disabled(), hours, times, series, lastDays(tenant));
    }

    /** GPU-hours per UTC day and model from the usage intervals: one indexed read of this tenant's week. */
    private List<DayHours> lastDays(String tenant) {
        LocalDate today = LocalDate.now(ZoneOffset.UTC);
        OffsetDateTime from = today.minusDays(DAYS - 1).atStartOfDay().atOffset(ZoneOffset.UTC);
        OffsetDateTime to = today.plusDays(1).atStartOfDay().atOffset(ZoneOffset.UTC);
        return metered.usage(new UsageRequest(from, to, List.of(Dimension.DAY, Dimension.MODEL), tenant)).stream()
                .map(g -> new DayHours(g.keys().get("day"), g.keys().get("model"), Math.round(g.gpuSeconds() / 3.6) / 1000.0))
                .toList();
    }
}
