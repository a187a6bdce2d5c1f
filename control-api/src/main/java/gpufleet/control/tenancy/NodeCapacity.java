package gpufleet.control.tenancy;

import gpufleet.common.Quantity;
import gpufleet.common.api.NodeResources;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The tenant's pool in figures. Capacity is what a tenant can reach: the allocatable cpu and
 * memory of the schedulable hosts that carry the tenant's GPU models, and those GPUs.
 * Allocatable is what is free now: capacity less what live, unfinished workloads hold (every
 * tenant's) and less unhealthy GPUs. {@code pods} follows the GPUs, since every pod on the
 * node holds at least one. The tenant-agent adds back what the kube-scheduler counts itself
 * (the node's own pods) before it writes the node; see docs/tenants.md.
 */
public final class NodeCapacity {
    private NodeCapacity() {}

    /** Raw figures of a tenant's pool. */
    public record Pool(long cpuMillis, long memoryBytes, long gpus, long unhealthyGpus,
                       long usedCpuMillis, long usedMemoryBytes, long usedGpus) {}

    /** What the tenant's own workloads that wait for a host will hold once placed. */
    public record Waiting(long cpuMillis, long memoryBytes, long gpus) {}

    public static NodeResources of(Pool p) {
        return of(p, null);
    }

    /** {@code waiting} null: the answer without that field, as agents that do not ask for it expect. */
    public static NodeResources of(Pool p, Waiting waiting) {
        long gpusLeft = Math.max(0, p.gpus() - p.unhealthyGpus() - p.usedGpus());
        return new NodeResources(
                figures(p.cpuMillis(), p.memoryBytes(), p.gpus()),
                figures(Math.max(0, p.cpuMillis() - p.usedCpuMillis()),
                        Math.max(0, p.memoryBytes() - p.usedMemoryBytes()), gpusLeft),
                waiting == null ? null : figures(waiting.cpuMillis(), waiting.memoryBytes(), waiting.gpus()));
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
