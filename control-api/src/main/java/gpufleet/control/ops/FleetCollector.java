package gpufleet.control.ops;

import gpufleet.control.edge.EdgeSync;
import gpufleet.control.fleet.FleetSnapshot;
import gpufleet.control.fleet.FleetSnapshot.SickGpu;
import gpufleet.control.fleet.Views.FleetSummary;
import gpufleet.control.fleet.Views.ModelSummary;
import gpufleet.control.quota.StreamQuota;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The fleet's figures in Prometheus form, built at each scrape from what this replica already
 * holds: the in-memory fleet summary, the last {@link FleetProbe} reading, the edge sync's last
 * round and the open streams. A scrape runs no statement. Every replica exports the same fleet
 * figures (they read one database), so dashboards take max() over replicas, not sum().
 */
public final class FleetCollector implements MultiCollector {
    /** Unhealthy GPUs named one per series; past this the count per model still says how many. */
    static final int MOST_SICK_NAMED = 200;
    /** A reason is the host's text: kept to a length that fits a label. */
    private static final int REASON_CHARS = 120;

    private final FleetSnapshot fleet;
    private final FleetProbe probe;
    private final StreamQuota streams;
    private final EdgeSync edge;

    /** {@code edge} is null when no Caddy is kept in step (its series are then left out). */
    public FleetCollector(FleetSnapshot fleet, FleetProbe probe, StreamQuota streams, EdgeSync edge) {
        this.fleet = fleet;
        this.probe = probe;
        this.streams = streams;
        this.edge = edge;
    }

    @Override
    public MetricSnapshots collect() {
        List<MetricSnapshot> out = new ArrayList<>();
        FleetSnapshot.Counts counts = fleet.latest();
        if (counts != null) {
            fleetCounts(counts, out);
        }
        FleetProbe.Reading r = probe.last();
        if (r != null) {
            probed(r, out);
        }
        out.add(counter("gpufleet_fleet_probe_failures", "fleet probe rounds that failed (database down or slower than the probe's timeout)",
                probe.failures()));
        out.add(gauge("gpufleet_stream_sessions", "logs, exec, attach and port-forward streams open on this replica",
                streams.openTotal()));
        if (edge != null) {
            out.add(gauge("gpufleet_edge_in_step_timestamp_seconds",
                    "when this replica last saw Caddy's configuration equal to the routes table (0: never); take max over replicas",
                    edge.inStepAtMillis() / 1000.0));
            out.add(gauge("gpufleet_edge_routes_skipped", "routes the last edge sync left off Caddy (stored values that fail today's checks)",
                    edge.skippedRoutes()));
            out.add(counter("gpufleet_edge_sync_failures", "edge sync rounds that could not bring Caddy in step", edge.failedRounds()));
        }
        return new MetricSnapshots(out);
    }

    private static void fleetCounts(FleetSnapshot.Counts counts, List<MetricSnapshot> out) {
        FleetSummary s = counts.summary();
        GaugeSnapshot.Builder hosts = GaugeSnapshot.builder().name("gpufleet_hosts").help("hosts by state");
        s.hosts().forEach((state, n) -> hosts.dataPoint(point(n, "state", state)));
        out.add(hosts.build());
        GaugeSnapshot.Builder gpus = GaugeSnapshot.builder().name("gpufleet_gpus").help("GPUs by model and state (free, allocated, unhealthy)");
        GaugeSnapshot.Builder placeable = GaugeSnapshot.builder().name("gpufleet_gpus_placeable")
                .help("free GPUs on ready, uncordoned hosts: what a new workload can get now");
        for (ModelSummary m : s.models()) {
            gpus.dataPoint(point(m.free(), "model", m.model(), "state", "free"));
            gpus.dataPoint(point(m.allocated(), "model", m.model(), "state", "allocated"));
            gpus.dataPoint(point(m.unhealthy(), "model", m.model(), "state", "unhealthy"));
            placeable.dataPoint(point(m.placeable(), "model", m.model()));
        }
        out.add(gpus.build());
        out.add(placeable.build());
        GaugeSnapshot.Builder held = GaugeSnapshot.builder().name("gpufleet_tenant_gpus").help("GPUs each tenant holds, by model");
        for (Map.Entry<String, Map<String, Long>> m : counts.held().entrySet()) {
            m.getValue().forEach((tenant, n) -> held.dataPoint(point(n, "model", m.getKey(), "tenant", tenant)));
        }
        out.add(held.build());
        GaugeSnapshot.Builder sick = GaugeSnapshot.builder().name("gpufleet_gpu_unhealthy_info")
                .help("1 per unhealthy GPU, with the host's reason (e.g. an Xid); at most " + MOST_SICK_NAMED + " series");
        counts.sick().stream().limit(MOST_SICK_NAMED).forEach((SickGpu g) -> sick.dataPoint(point(1, "host", g.host(), "gpu", g.uuid(),
                "model", g.model(), "reason", g.reason().length() > REASON_CHARS ? g.reason().substring(0, REASON_CHARS) : g.reason())));
        out.add(sick.build());
        out.add(gauge("gpufleet_fleet_summary_age_seconds", "age of the in-memory fleet counts these figures come from",
                (System.nanoTime() - counts.readStartedNanos()) / 1e9));
    }

    private static void probed(FleetProbe.Reading r, List<MetricSnapshot> out) {
        GaugeSnapshot.Builder late = GaugeSnapshot.builder().name("gpufleet_hosts_heartbeat_late")
                .help("hosts (not lost) whose last heartbeat is older than after_seconds");
        for (int i = 0; i < FleetProbe.LATE_AFTER_SECONDS.length; i++) {
            late.dataPoint(point(r.lateCounts()[i], "after_seconds", Integer.toString(FleetProbe.LATE_AFTER_SECONDS[i])));
        }
        out.add(late.build());
        out.add(gauge("gpufleet_host_heartbeat_lag_max_seconds", "the largest heartbeat lag among hosts not lost", r.maxLagSeconds()));
        GaugeSnapshot.Builder named = GaugeSnapshot.builder().name("gpufleet_host_heartbeat_lag_seconds")
                .help("heartbeat lag of each host past half the heartbeat grace, the latest " + FleetProbe.MOST_NAMED + " at most");
        r.lateHosts().forEach((host, lag) -> named.dataPoint(point(lag, "host", host)));
        out.add(named.build());
        out.add(gauge("gpufleet_workloads_pending", "workloads waiting for a host", r.pending()));
        out.add(gauge("gpufleet_workloads_pending_oldest_age_seconds", "how long the oldest pending workload has waited (0: none)",
                r.oldestPendingSeconds()));
        out.add(gauge("gpufleet_fleet_probe_duration_seconds", "how long the last fleet probe's statements took: the database's latency as seen here",
                r.probeSeconds()));
        out.add(gauge("gpufleet_fleet_probe_timestamp_seconds", "when the last fleet probe succeeded", r.atMillis() / 1000.0));
    }

    private static GaugeDataPointSnapshot point(double value, String... labels) {
        return GaugeDataPointSnapshot.builder().value(value).labels(Labels.of(labels)).build();
    }

    private static GaugeSnapshot gauge(String name, String help, double value) {
        return GaugeSnapshot.builder().name(name).help(help).dataPoint(point(value)).build();
    }

    private static CounterSnapshot counter(String name, String help, double value) {
        return CounterSnapshot.builder().name(name).help(help)
                .dataPoint(CounterDataPointSnapshot.builder().value(value).build()).build();
    }
}
