package gpufleet.host.workload;

import gpufleet.common.api.HostWorkload;
import gpufleet.host.runtime.Observed;
import java.util.List;

/**
 * Something a pod's worker looks at on every sync of a pod that should run, after its containers
 * were brought to the spec (a disk-usage limit, for one). It runs on the pod's own worker, so
 * it may take its time without holding up other pods; it must not throw.
 */
@FunctionalInterface
interface PodCheck {
    PodCheck NONE = (w, containers) -> { };

    /** {@code containers}: the pod's containers as listed before this sync. */
    void check(HostWorkload w, List<Observed> containers);

    /** Each check in turn. */
    static PodCheck all(PodCheck... checks) {
        return (w, containers) -> {
            for (PodCheck c : checks) {
                c.check(w, containers);
            }
        };
    }
}
