package gpufleet.host.workload;

import gpufleet.common.api.HostDesired;
import gpufleet.common.api.HostWorkload;
import gpufleet.host.runtime.ContainerRuntime;
import gpufleet.host.runtime.Observed;
import gpufleet.host.runtime.RuntimeFailure;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Compares what the control-api wants on this host with the containers that carry the agent's
 * labels, and closes the gap: runs what is missing, stops what is deleted, removes what nobody
 * owns any more.
 */
final class Reconciler {
    private static final Logger log = LoggerFactory.getLogger(Reconciler.class);
    static final int ORPHAN_GRACE_SECONDS = 10;

    private final ContainerRuntime runtime;
    private final PodRunner pods;

    Reconciler(ContainerRuntime runtime, PodRunner pods) {
        this.runtime = runtime;
        this.pods = pods;
    }

    /** One pass; returns each desired workload's outcome. Throws when the engine cannot be listed. */
    Map<UUID, PodRunner.Outcome> reconcile(HostDesired desired) throws RuntimeFailure {
        Map<String, List<Observed>> byWorkload = new HashMap<>(runtime.list(Labels.MANAGED, "true").stream()
                .filter(o -> o.label(Labels.WORKLOAD) != null)
                .collect(Collectors.groupingBy(o -> o.label(Labels.WORKLOAD))));
        Map<UUID, PodRunner.Outcome> outcomes = new LinkedHashMap<>();
        for (HostWorkload w : desired.workloads()) {
            List<Observed> mine = new ArrayList<>(byWorkload.getOrDefault(w.id().toString(), List.of()));
            outcomes.put(w.id(), pods.run(w, mine));
        }
        Set<String> wanted = desired.workloads().stream().map(w -> w.id().toString()).collect(Collectors.toSet());
        byWorkload.forEach((workload, containers) -> {
            if (!wanted.contains(workload)) {
                log.info("removing {} container(s) of workload {}, which this host no longer runs", containers.size(), workload);
                pods.stop(workload, containers, ORPHAN_GRACE_SECONDS);
            }
        });
        return outcomes;
    }
}
