package gpufleet.control.operator;

import gpufleet.control.fleet.Views.GpuView;
import gpufleet.control.fleet.Views.HostView;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/** What operators read about workloads across tenants, and the fleet's recent history. */
public final class OperatorViews {
    private OperatorViews() {}

    /** A workload with its tenant and host named, as an operator lists it. {@code gpus}: every pinned UUID. */
    public record Workload(UUID id, String tenant, String podUid, String namespace, String name, String offering,
                           String phase, String reason, String message, UUID hostId, String host, List<String> gpus,
                           boolean deletionRequested, Instant createdAt, Instant updatedAt, Instant deletedAt) {}

    /** One change in the fleet's history; {@code kind} host, gpu or workload, {@code object} its id or UUID. */
    public record Event(long id, Instant at, String kind, String object, UUID hostId, String type, String reason,
                        String message) {}

    /** One allocation of a GPU, live ({@code releasedAt} null) or past. */
    public record Allocation(String tenant, UUID workloadId, String container, Instant allocatedAt, Instant releasedAt) {}

    public record WorkloadDetail(Workload workload, List<Event> events) {}

    public record GpuDetail(GpuView gpu, List<Allocation> allocations, List<Event> events) {}

    /** What a drain did: the host (now cordoned), the workloads it evicted, and how many are still stopping. */
    public record Drained(HostView host, List<Workload> evicted, int remaining) {}
}
