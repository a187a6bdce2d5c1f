package gpufleet.control.dashboard;

import gpufleet.control.fleet.Views.HostView;
import gpufleet.control.fleet.Views.FleetSummary;
import gpufleet.control.fleet.Views.HostRow;
import java.util.List;
import java.util.Map;

/** What the dashboard's pages read. Times are epoch milliseconds: the browser charts them as numbers. */
final class BoardViews {
    private BoardViews() {}

    /**
     * The fleet at a glance: the totals, and hosts as rows of their GPUs. With {@code full} the
     * rows are every host, troubled ones first; without, only the hosts changed since the cursor
     * the poll sent (the page keeps the rest). {@code cursor} goes back as ?since= on the next poll.
     */
    record FleetBoard(long at, String cursor, boolean full, FleetSummary summary, List<HostRow> hosts) {}

    /** One GPU on its host's page: state, who holds it, why it is unhealthy, and its last telemetry. */
    record GpuCell(String uuid, int index, String model, String state, String tenant, String reason,
                   Integer utilization, Long memoryUsedBytes, long memoryTotalBytes, Integer temperatureC,
                   Long powerMilliwatts) {}

    /** A host's page: the host, its GPUs, the workloads placed on it, and the last hour of telemetry. */
    record HostPage(long at, HostView host, List<GpuCell> gpus, List<WorkloadRow> workloads, Telemetry telemetry) {}

    record WorkloadRow(String tenant, String namespace, String name, String podUid, String phase, String reason,
                       List<String> gpus) {}

    /** Sample times, and per GPU one value per time (null where the GPU was not sampled). */
    record Telemetry(List<Long> times, List<GpuSeries> gpus) {}

    record GpuSeries(String uuid, int index, List<Integer> utilization, List<Long> memoryUsedBytes,
                     List<Integer> temperatureC, List<Long> powerMilliwatts) {}

    /** A tenant and the GPUs it holds now, per model. */
    record TenantRow(String name, boolean disabled, Map<String, Long> gpusByModel) {}

    /**
     * A tenant's GPUs in use per model at each sampled minute of the window, the last point being
     * now; and its metered GPU-hours per UTC day and model over the last 7 days (today so far).
     */
    record TenantUsage(String tenant, boolean disabled, int hours, List<Long> times, List<ModelSeries> models,
                       List<DayHours> lastDays) {}

    record DayHours(String day, String model, double gpuHours) {}

    record ModelSeries(String model, List<Long> gpus) {}
}
