package gpufleet.control.tenancy;

import gpufleet.common.Quantity;
import gpufleet.common.api.NodeResources;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The virtual node's arithmetic. Capacity is the pool a tenant can reach: the allocatable cpu
 * and memory of the schedulable hosts that carry the tenant's GPU models, and those GPUs.
 * Allocatable subtracts what workloads hold and GPUs that are unhealthy; {@code pods} follows
 * the GPUs, since every pod on the node holds at least one.
 */
public final class NodeCapacity {
    private NodeCapacity() {}

    /** Raw figures of a tenant's pool. */
    public record Pool(long cpuMillis, long memoryBytes, long gpus, long unhealthyGpus,
                       long usedCpuMillis, long usedMemoryBytes, long usedGpus) {}

    public static NodeResources of(Pool p) {
        long gpusLeft = Math.max(0, p.gpus() - p.unhealthyGpus() - p.usedGpus());
        return new NodeResources(
                figures(p.cpuMillis(), p.memoryBytes(), p.gpus()),
                figures(Math.max(0, p.cpuMillis() - p.usedCpuMillis()),
                        Math.max(0, p.memoryBytes() - p.usedMemoryBytes()), gpusLeft));
    }

    private static Map<String, String> figures(long cpuMillis, long memoryBytes, long gpus) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("cpu", Quantity.cpu(cpuMillis));
        m.put("memory", Quantity.memory(memoryBytes));
        m.put("nvidia.com/gpu", Long.toString(gpus));
        m.put("pods", Long.toString(gpus));
        return m;
    }
}
