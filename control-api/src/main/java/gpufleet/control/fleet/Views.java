package gpufleet.control.fleet;

import gpufleet.common.api.HostCondition;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** What operators read about the fleet. */
public final class Views {
    private Views() {}

    public record GpuCounts(long total, long free, long allocated, long unhealthy) {}

    public record Resources(String cpu, String memory, String allocatableCpu, String allocatableMemory) {}

    /** A host as operators see it; {@code address} is its registered address (null if it registered before V12). */
    public record HostView(UUID id, String name, String state, boolean cordoned, Instant lastHeartbeat,
                           Instant stateSince, Long inventoryGeneration, String driverVersion, String cudaVersion,
                           Resources resources, GpuCounts gpus, List<HostCondition> conditions, String address) {}

    public record HostDetail(HostView host, List<GpuView> gpus) {}

    public record GpuView(String uuid, UUID hostId, String host, int index, String model, String state, String tenant,
                          String healthReason, long memoryTotalBytes, Long memoryUsedBytes, String pciBusId,
                          Integer numaNode, Boolean migEnabled, Integer utilizationGpu, Integer utilizationMemory,
                          Integer temperatureC, Long powerMilliwatts, Map<String, String> topology, boolean present,
                          Instant updatedAt) {}

    /**
     * GPUs of one model: {@code placeable} counts the free ones on hosts that are ready and not
     * cordoned, the GPUs a new workload can get now.
     */
    public record ModelSummary(String model, long hosts, long total, long free, long allocated, long unhealthy,
                               long placeable) {}

    /**
     * The fleet's totals as of {@code asOf} (the database's clock when they were read);
     * {@code ageMillis} is how long before this answer that read began. {@code hosts} counts hosts per state.
     */
    public record FleetSummary(Instant asOf, long ageMillis, Map<String, Long> hosts, List<ModelSummary> models) {}

    /**
     * One GPU as the fleet board shows it: its state, who holds it, why it is unhealthy. No
     * telemetry: that changes every report, and the host's page has it.
     */
    public record GpuState(String uuid, int index, String model, String state, String tenant, String reason) {}

    /** A host and all its GPUs, ordered by index. */
    public record HostRow(UUID id, String name, String state, List<GpuState> gpus) {}

    /** A page of a list, Kubernetes-style: pass {@code continueAfter} back as ?continue= for the next page. */
    public record Page<T>(List<T> items, String continueAfter) {}
}
