package gpufleet.control.placement;

import gpufleet.common.Quantity;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Pure placement logic for one host: whether the workload fits there and, for several GPUs,
 * which ones (the closest to each other). The host itself is chosen by SQL ({@link Placer}'s
 * candidate search): best fit, the hosts with the fewest free GPUs of the model that still fit
 * first, so whole hosts stay free for large pods. A misfit is a value with a reason a person can
 * act on.
 */
public final class Fit {
    private Fit() {}

    /** What a workload needs: {@code perContainer} GPU counts in container order. */
    public record Request(String model, List<Integer> perContainer, long cpuMillis, long memoryBytes) {
        public int gpus() {
            return perContainer.stream().mapToInt(Integer::intValue).sum();
        }
    }

    /** One free GPU on a host and its links to the host's other GPUs (UUID → NVML level). */
    public record FreeGpu(String uuid, Map<String, String> topology) {}

    /** What a host can still give. */
    public record HostFree(UUID hostId, String name, List<FreeGpu> gpus, long cpuMillis, long memoryBytes) {}

    public sealed interface Decision permits Placed, Misfit {}

    /** The chosen host and, for each container in order, its GPU UUIDs. */
    public record Placed(UUID hostId, String hostName, List<List<String>> gpus) implements Decision {}

    public record Misfit(String reason) implements Decision {}

    /**
     * The workload on {@code host}, or why it does not fit there; with {@code host} null, why it
     * fits nowhere (no ready host has a free GPU of the model).
     */
    public static Decision onHost(Request r, HostFree host) {
        if (host == null || host.gpus().size() < r.gpus()) {
            return new Misfit("no ready host has " + r.gpus() + " free " + r.model()
                    + (host == null ? "; none has any free" : "; most free on one host: " + host.gpus().size()));
        }
        if (host.cpuMillis() < r.cpuMillis() || host.memoryBytes() < r.memoryBytes()) {
            return new Misfit("hosts with " + r.gpus() + " free " + r.model() + " lack cpu or memory: the pod needs "
                    + Quantity.cpu(r.cpuMillis()) + " cpu and " + Quantity.memory(r.memoryBytes()) + " memory; "
                    + host.name() + " has " + Quantity.cpu(host.cpuMillis()) + " cpu and "
                    + Quantity.memory(host.memoryBytes()) + " memory free");
        }
        List<String> chosen = GpuChooser.closest(host.gpus(), r.gpus());
        List<List<String>> perContainer = new ArrayList<>();
        int next = 0;
        for (int n : r.perContainer()) {
            perContainer.add(List.copyOf(chosen.subList(next, next + n)));
            next += n;
        }
        return new Placed(host.hostId(), host.name(), perContainer);
    }
}
