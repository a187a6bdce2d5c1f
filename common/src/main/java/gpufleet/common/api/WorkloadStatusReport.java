package gpufleet.common.api;

import gpufleet.common.Invalid;
import java.util.List;

/**
 * What a host reports about one workload. Ordered by {@code generation}: an older report never
 * overwrites a newer one. {@code gone} confirms that every container of a workload being deleted
 * is removed, which is what frees its GPUs.
 */
public record WorkloadStatusReport(Long generation, List<ContainerStatus> containers, Boolean gone) {
    public WorkloadStatusReport {
        Invalid.atLeast(generation, 1, "generation");
        containers = containers == null ? List.of() : List.copyOf(containers);
        gone = gone != null && gone;
    }
}
