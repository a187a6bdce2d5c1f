package gpufleet.common.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Map;

/**
 * The tenant's pool as Kubernetes quantities (cpu, memory, nvidia.com/gpu, pods): its capacity,
 * and what is free in it now ({@code allocatable}: capacity less what every workload holds, the
 * tenant's own included, and less GPUs that are unhealthy). {@code waiting}, only when asked for:
 * what the tenant's own workloads not placed yet will hold once placed; null otherwise, so that
 * agents that do not know the field never see it. The tenant-agent turns these into the virtual
 * node's figures, which the kube-scheduler reads with the node's pods counted.
 */
public record NodeResources(Map<String, String> capacity, Map<String, String> allocatable,
                            @JsonInclude(JsonInclude.Include.NON_NULL) Map<String, String> waiting) {
    public NodeResources(Map<String, String> capacity, Map<String, String> allocatable) {
        this(capacity, allocatable, null);
    }
}
