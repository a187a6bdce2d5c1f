package gpufleet.tenant.node;

import gpufleet.common.api.NodeResources;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import java.math.BigDecimal;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The node's allocatable, made for the kube-scheduler's arithmetic. The scheduler admits a pod
 * when its requests plus the requests of the non-terminal pods bound to the node fit within
 * allocatable; so allocatable must be what is truly free plus what the scheduler already counts:
 *
 * <pre>allocatable = free at the provider - waiting + counted, within [0, capacity]</pre>
 *
 * free: the provider's pool less what every workload holds (at its limits, the tenant's own
 * included) and less unhealthy GPUs; waiting: what the tenant's unplaced workloads will hold;
 * counted: the requests of this node's non-terminal pods. Then allocatable minus counted, the
 * room the scheduler sees, is the room the provider has. {@code pods} follows the GPUs (every
 * pod holds at least one), counted as the scheduler counts pods: one each.
 */
public final class NodeFigures {
    static final String GPU = "nvidia.com/gpu";
    private static final BigDecimal MILLI = new BigDecimal("0.001");

    private NodeFigures() {}

    /** What the scheduler counts on the node: its non-terminal pods' requests and their number. */
    public record Counted(long cpuMillis, long memoryBytes, long gpus, long pods) {
        static final Counted NONE = new Counted(0, 0, 0, 0);
    }

    public static Counted counted(List<Pod> pods, String nodeName) {
        long cpu = 0;
        long memory = 0;
        long gpus = 0;
        long n = 0;
        for (Pod p : pods) {
            if (p.getSpec() == null || !nodeName.equals(p.getSpec().getNodeName()) || terminal(p)) {
                continue;
            }
            Map<String, BigDecimal> r = PodRequests.of(p);
            cpu += PodRequests.counted(r, "cpu", MILLI);
            memory += PodRequests.counted(r, "memory", BigDecimal.ONE);
            gpus += PodRequests.counted(r, GPU, BigDecimal.ONE);
            n++;
        }
        return new Counted(cpu, memory, gpus, n);
    }

    /** The scheduler's informer leaves Succeeded and Failed pods out: they hold nothing on the node. */
    static boolean terminal(Pod p) {
        String phase = p.getStatus() == null ? null : p.getStatus().getPhase();
        return "Succeeded".equals(phase) || "Failed".equals(phase);
    }

    /** The provider's figures with allocatable turned into the node's (capacity unchanged). */
    public static NodeResources forNode(NodeResources provider, Counted counted) {
        Map<String, String> waiting = provider.waiting() == null ? Map.of() : provider.waiting();
        Map<String, String> cap = provider.capacity();
        Map<String, String> free = provider.allocatable();
        Map<String, String> out = new LinkedHashMap<>();
        out.put("cpu", gpufleet.common.Quantity.cpu(
                within(millis(free, "cpu") - millis(waiting, "cpu") + counted.cpuMillis(), millis(cap, "cpu"))));
        out.put("memory", gpufleet.common.Quantity.memory(
                within(units(free, "memory") - units(waiting, "memory") + counted.memoryBytes(), units(cap, "memory"))));
        long roomGpus = units(free, GPU) - units(waiting, GPU);
        out.put(GPU, Long.toString(within(roomGpus + counted.gpus(), units(cap, GPU))));
        out.put("pods", Long.toString(within(roomGpus + counted.pods(), units(cap, "pods"))));
        return new NodeResources(cap, out);
    }

    /**
     * Never below zero nor above capacity. Above happens only for a moment: a pod that finished
     * at the provider (it holds nothing) still counted until its phase reaches the cluster.
     */
    private static long within(long v, long capacity) {
        return Math.max(0, Math.min(v, capacity));
    }

    private static long millis(Map<String, String> figures, String key) {
        return PodRequests.counted(Map.of(key, amount(figures, key)), key, MILLI);
    }

    private static long units(Map<String, String> figures, String key) {
        return PodRequests.counted(Map.of(key, amount(figures, key)), key, BigDecimal.ONE);
    }

    private static BigDecimal amount(Map<String, String> figures, String key) {
        String v = figures.get(key);
        return v == null ? BigDecimal.ZERO : Quantity.getAmountInBytes(new Quantity(v));
    }
}
