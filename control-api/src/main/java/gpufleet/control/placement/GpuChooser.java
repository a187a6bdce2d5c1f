package gpufleet.control.placement;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/** Picks GPUs that are close: NVLink first, then the same PCIe switch, host bridge, NUMA node. */
final class GpuChooser {
    private static final Map<String, Integer> DISTANCE = Map.of(
            "NVLINK", 0, "INTERNAL", 0, "SINGLE", 1, "MULTIPLE", 2, "HOSTBRIDGE", 3, "NODE", 4, "SYSTEM", 5);
    private static final int UNKNOWN = 6;

    private GpuChooser() {}

    /**
     * {@code n} GPUs from {@code free} with the smallest summed pairwise distance, found greedily
     * from each starting GPU (hosts have at most a few dozen GPUs). Stable: ties go to list order.
     */
    static List<String> closest(List<Fit.FreeGpu> free, int n) {
        if (n == 0) {
            return List.of();
        }
        List<String> best = null;
        int bestCost = Integer.MAX_VALUE;
        for (Fit.FreeGpu start : free) {
            List<Fit.FreeGpu> set = new ArrayList<>(List.of(start));
            List<Fit.FreeGpu> rest = new ArrayList<>(free);
            rest.remove(start);
            int cost = 0;
            while (set.size() < n) {
                Fit.FreeGpu pick = rest.stream().min(Comparator.comparingInt(c -> added(set, c))).orElseThrow();
                cost += added(set, pick);
                set.add(pick);
                rest.remove(pick);
            }
            if (cost < bestCost) {
                bestCost = cost;
                best = set.stream().map(Fit.FreeGpu::uuid).toList();
            }
        }
        return best;
    }

    private static int added(List<Fit.FreeGpu> set, Fit.FreeGpu candidate) {
        int sum = 0;
        for (Fit.FreeGpu g : set) {
            sum += distance(g, candidate);
        }
        return sum;
    }

    static int distance(Fit.FreeGpu a, Fit.FreeGpu b) {
        String level = a.topology().get(b.uuid());
        if (level == null) {
            level = b.topology().get(a.uuid());
        }
        return level == null ? UNKNOWN : DISTANCE.getOrDefault(level, UNKNOWN);
    }
}
