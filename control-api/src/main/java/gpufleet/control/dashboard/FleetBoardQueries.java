package gpufleet.control.dashboard;

import gpufleet.control.dashboard.BoardViews.FleetBoard;
import gpufleet.control.dashboard.BoardViews.GpuCell;
import gpufleet.control.dashboard.BoardViews.GpuSeries;
import gpufleet.control.dashboard.BoardViews.HostPage;
import gpufleet.control.dashboard.BoardViews.Telemetry;
import gpufleet.control.dashboard.BoardViews.WorkloadRow;
import gpufleet.control.db.Database;
import gpufleet.control.fleet.FleetChanges.Cursor;
import gpufleet.control.fleet.FleetQueries;
import gpufleet.control.fleet.FleetQueries.GpuFilter;
import gpufleet.control.fleet.FleetSnapshot;
import gpufleet.control.fleet.FleetSnapshot.Delta;
import gpufleet.control.fleet.Views.GpuView;
import gpufleet.control.fleet.Views.HostRow;
import gpufleet.control.fleet.Views.HostView;
import java.sql.Array;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * The fleet board and a host's page. GPU and host states come from the operator API's own
 * queries ({@link FleetQueries}), so the dashboard and {@code /v1/gpus} never disagree.
 */
final class FleetBoardQueries {
    /** A host page lists all its GPUs. */
    private static final int ALL = 1_000;
    /** Hosts in these states are listed first: they need someone's attention. */
    private static final Set<String> TROUBLED = Set.of("not-ready", "lost");

    private final Database db;
    private final FleetQueries fleet;
    private final FleetSnapshot snapshot;

    FleetBoardQueries(Database db, FleetSnapshot snapshot) {
        this.db = db;
        this.fleet = new FleetQueries(db);
        this.snapshot = snapshot;
    }

    /**
     * The hosts changed since {@code since}, or every host when there is no usable cursor, from
     * the rows the replica keeps in memory ({@link FleetSnapshot}).
     */
    FleetBoard board(Cursor since) {
        Delta d = snapshot.since(since);
        List<HostRow> rows = new ArrayList<>(d.hosts());
        rows.sort(Comparator.comparing((HostRow r) -> !TROUBLED.contains(r.state())).thenComparing(HostRow::name));
        return new FleetBoard(d.asOf().toEpochMilli(), d.cursor().toString(), d.full(), d.summary(), rows);
    }

    HostPage host(UUID id) {
        HostView host = fleet.host(id);
        List<GpuCell> gpus = fleet.gpus(new GpuFilter(null, id, null, null), null, ALL).items().stream()
                .map(FleetBoardQueries::cell).sorted(Comparator.comparingInt(GpuCell::index)).toList();
        long now = System.currentTimeMillis();
        return new HostPage(now, host, gpus, workloads(id), telemetry(id, gpus, now));
    }

    private static GpuCell cell(GpuView g) {
        return new GpuCell(g.uuid(), g.index(), g.model(), g.state(), g.tenant(), g.healthReason(), g.utilizationGpu(),
                g.memoryUsedBytes(), g.memoryTotalBytes(), g.temperatureC(), g.powerMilliwatts());
    }

    private List<WorkloadRow> workloads(UUID hostId) {
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement("""
                    SELECT w.tenant, w.namespace, w.name, w.pod_uid, w.phase, w.reason,
                           array_agg(a.gpu_uuid ORDER BY a.id) FILTER (WHERE a.gpu_uuid IS NOT NULL)
                    FROM workloads w
                    LEFT JOIN gpu_allocations a ON a.workload_id = w.id AND a.released_at IS NULL
                    WHERE w.host_id = ? AND w.deleted_at IS NULL
                    GROUP BY w.id ORDER BY w.tenant, w.namespace, w.name""")) {
                ps.setObject(1, hostId);
                List<WorkloadRow> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        Array gpus = rs.getArray(7);
                        out.add(new WorkloadRow(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                                rs.getString(5), rs.getString(6),
                                gpus == null ? List.of() : Arrays.asList((String[]) gpus.getArray())));
                    }
                }
                return out;
            }
        });
    }

    /** The last hour of samples, then the GPUs' current values as the newest point. */
    private Telemetry telemetry(UUID hostId, List<GpuCell> gpus, long now) {
        Map<String, SeriesBuilder> byUuid = new LinkedHashMap<>();
        gpus.forEach(g -> byUuid.put(g.uuid(), new SeriesBuilder(g.uuid(), g.index())));
        List<Long> times = new ArrayList<>();
        db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement("""
                    SELECT sampled_at, gpu_uuids, utilization_gpu, memory_used_bytes, temperature_c, power_mw
                    FROM gpu_telemetry WHERE host_id = ? AND sampled_at > now() - interval '1 hour'
                    ORDER BY sampled_at""")) {
                ps.setObject(1, hostId);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        times.add(rs.getTimestamp(1).getTime());
                        addSample(byUuid, times.size(), rs);
                    }
                }
            }
            return null;
        });
        times.add(now);
        for (GpuCell g : gpus) {
            byUuid.get(g.uuid()).add(times.size(), g.utilization(), g.memoryUsedBytes(), g.temperatureC(),
                    g.powerMilliwatts());
        }
        return new Telemetry(times, byUuid.values().stream().map(b -> b.build(times.size())).toList());
    }

    private static void addSample(Map<String, SeriesBuilder> byUuid, int point, ResultSet rs) throws SQLException {
        String[] uuids = (String[]) rs.getArray(2).getArray();
        Object[] util = (Object[]) rs.getArray(3).getArray();
        Object[] mem = (Object[]) rs.getArray(4).getArray();
        Object[] temp = (Object[]) rs.getArray(5).getArray();
        Object[] power = (Object[]) rs.getArray(6).getArray();
        for (int i = 0; i < uuids.length; i++) {
            SeriesBuilder b = byUuid.get(uuids[i]);
            if (b != null) {
                b.add(point, asInt(util[i]), asLong(mem[i]), asInt(temp[i]), asLong(power[i]));
            }
        }
    }

    private static Integer asInt(Object v) {
        return v == null ? null : ((Number) v).intValue();
    }

    private static Long asLong(Object v) {
        return v == null ? null : ((Number) v).longValue();
    }

    /** One GPU's series; a point it has no sample for stays null so lines break there. */
    private static final class SeriesBuilder {
        private final String uuid;
        private final int index;
        private final List<Integer> utilization = new ArrayList<>();
        private final List<Long> memory = new ArrayList<>();
        private final List<Integer> temperature = new ArrayList<>();
        private final List<Long> power = new ArrayList<>();

        SeriesBuilder(String uuid, int index) {
            this.uuid = uuid;
            this.index = index;
        }

        /** Sets the values of point number {@code point} (1-based), padding the points before it. */
        void add(int point, Integer util, Long mem, Integer temp, Long watts) {
            padTo(point - 1);
            utilization.add(util);
            memory.add(mem);
            temperature.add(temp);
            power.add(watts);
        }

        private void padTo(int points) {
            while (utilization.size() < points) {
                utilization.add(null);
                memory.add(null);
                temperature.add(null);
                power.add(null);
            }
        }

        GpuSeries build(int points) {
            padTo(points);
            return new GpuSeries(uuid, index, utilization, memory, temperature, power);
        }
    }
}
