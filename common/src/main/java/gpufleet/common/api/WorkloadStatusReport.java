package gpufleet.common.api;

import gpufleet.common.Invalid;
import java.util.List;
import java.util.Map;

/**
 * What a host reports about one workload. Ordered by {@code generation}: an older report never
 * overwrites a newer one. {@code gone} confirms that every container of a workload being deleted
 * is removed, which is what frees its GPUs. {@code ports}: where each published pod port is
 * reachable from the edge, container port → "address:port" on the host. {@code initContainers}:
 * the pod's init containers (sidecars among them) in their order, empty when it has none.
 */
public record WorkloadStatusReport(Long generation, List<ContainerStatus> containers, Boolean gone, Map<String, String> ports,
                                   List<ContainerStatus> initContainers) {
    public WorkloadStatusReport {
        Invalid.atLeast(generation, 1, "generation");
        containers = containers == null ? List.of() : List.copyOf(containers);
        initContainers = initContainers == null ? List.of() : List.copyOf(initContainers);
        gone = gone != null && gone;
        ports = ports == null ? Map.of() : Map.copyOf(ports);
        Invalid.check(ports.size() <= 64, "ports", "at most 64 published ports");
        for (Map.Entry<String, String> e : ports.entrySet()) {
            Invalid.check(e.getKey().matches("^[0-9]{1,5}$") && e.getValue().matches("^[0-9A-Za-z.:\\[\\]-]{1,80}:[0-9]{1,5}$"),
                    "ports", "ports must map a container port to address:port, got " + e.getKey() + " -> " + e.getValue());
        }
    }

    public WorkloadStatusReport(Long generation, List<ContainerStatus> containers, Boolean gone, Map<String, String> ports) {
        this(generation, containers, gone, ports, null);
    }

    public WorkloadStatusReport(Long generation, List<ContainerStatus> containers, Boolean gone) {
        this(generation, containers, gone, Map.of());
    }
}
