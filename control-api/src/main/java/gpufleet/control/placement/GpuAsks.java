package gpufleet.control.placement;

import gpufleet.common.api.WorkloadSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * Which of a pod's containers its GPUs are pinned to, and how many each, so that the pod holds
 * Kubernetes' effective request ({@link WorkloadSpec#gpus()}): the app containers and sidecars
 * each get their own (they run side by side), and when a run-to-completion init container needs
 * more than those, the rest are pinned under its name. The host lends an init container the pod's
 * GPUs (those of no sidecar started before it) while no app container runs.
 */
public record GpuAsks(List<String> containers, List<Integer> counts) {
    public GpuAsks {
        containers = List.copyOf(containers);
        counts = List.copyOf(counts);
    }

    public static GpuAsks of(WorkloadSpec spec) {
        List<String> names = new ArrayList<>();
        List<Integer> counts = new ArrayList<>();
        int side = 0;
        int widest = 0;
        String widestName = null;
        for (WorkloadSpec.Container c : spec.initContainers()) {
            if ("Always".equals(c.restartPolicy())) {
                side += c.resources().gpus();
            } else if (side + c.resources().gpus() > widest) {
                widest = side + c.resources().gpus();
                widestName = c.name();
            }
        }
        int held = 0;
        for (WorkloadSpec.Container c : spec.allContainers()) {
            if (!spec.initContainers().contains(c) || "Always".equals(c.restartPolicy())) {
                names.add(c.name());
                counts.add(c.resources().gpus());
                held += c.resources().gpus();
            }
        }
        if (spec.gpus() > held) {
            names.add(widestName);
            counts.add(spec.gpus() - held);
        }
        return new GpuAsks(names, counts);
    }
}
