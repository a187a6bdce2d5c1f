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

    public record ModelSummary(String model, long hosts, long total, long free, long allocated, long unhealthy) {}

    /** A page of a list, Kubernetes-style: pass {@code continueAfter} back as ?continue= for the next page. */
    public record Page<T>(List<T> items, String continueAfter) {}
}
