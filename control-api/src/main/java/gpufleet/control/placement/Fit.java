package gpufleet.control.placement;

import gpufleet.common.Quantity;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Pure placement logic: which host, which GPUs. Bin-packs (the fitting host with the fewest free
 * GPUs wins, keeping whole hosts free for large requests) and, for several GPUs, takes the ones
 * closest to each other. A misfit is a value with a reason a person can act on.
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

    public static Decision decide(Request r, List<HostFree> hosts) {
        List<HostFree> enoughGpus = hosts.stream().filter(h -> h.gpus().size() >= r.gpus()).toList();
        if (enoughGpus.isEmpty()) {
            HostFree most = hosts.stream().max(Comparator.comparingInt((HostFree h) -> h.gpus().size())).orElse(null);
            return new Misfit("no ready host has " + r.gpus() + " free " + r.model()
                    + (most == null ? "; none has any free" : "; most free on one host: " + most.gpus().size()));
        }
        List<HostFree> fitting = new ArrayList<>(enoughGpus.stream()
                .filter(h -> h.cpuMillis() >= r.cpuMillis() && h.memoryBytes() >= r.memoryBytes()).toList());
        if (fitting.isEmpty()) {
            HostFree roomiest = enoughGpus.stream().max(Comparator.comparingLong(HostFree::cpuMillis)).orElseThrow();
            return new Misfit("hosts with " + r.gpus() + " free " + r.model() + " lack cpu or memory: the pod needs "
                    + Quantity.cpu(r.cpuMillis()) + " cpu and " + Quantity.memory(r.memoryBytes()) + " memory; "
                    + roomiest.name() + " has " + Quantity.cpu(roomiest.cpuMillis()) + " cpu and "
                    + Quantity.memory(roomiest.memoryBytes()) + " memory free");
        }
        fitting.sort(Comparator.comparingInt((HostFree h) -> h.gpus().size())
                .thenComparingLong(HostFree::cpuMillis).thenComparing(HostFree::name));
        HostFree host = fitting.get(0);
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
