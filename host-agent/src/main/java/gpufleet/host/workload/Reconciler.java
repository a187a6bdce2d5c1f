package gpufleet.host.workload;

import gpufleet.common.api.HostDesired;
import gpufleet.common.api.HostWorkload;
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
 * Compares what the control-api wants on this host with this host's containers (see
 * {@link HostContainers}), and closes the gap: runs what is missing, stops what is deleted,
 * removes what this host no longer runs.
 */
final class Reconciler {
    private static final Logger log = LoggerFactory.getLogger(Reconciler.class);
    static final int ORPHAN_GRACE_SECONDS = 10;

    private final HostContainers containers;
    private final PodRunner pods;
    private final PortRelay relay;
    private boolean legacyLookedFor;

    Reconciler(HostContainers containers, PodRunner pods, PortRelay relay) {
        this.containers = containers;
        this.pods = pods;
        this.relay = relay;
    }

    /**
     * One pass; returns each desired workload's outcome (with where its published ports are).
     * Throws when the engine cannot be listed.
     */
    Map<UUID, PodRunner.Outcome> reconcile(HostDesired desired) throws RuntimeFailure {
        Set<String> wanted = desired.workloads().stream().map(w -> w.id().toString()).collect(Collectors.toSet());
        if (!legacyLookedFor && desired.version() >= 0) {
            containers.adoptLegacy(wanted);
            legacyLookedFor = true;
        }
        Map<String, List<Observed>> byWorkload = new HashMap<>();
        for (Observed o : containers.list()) {
            String w = Labels.workload(o);
            if (w != null) {
                byWorkload.computeIfAbsent(w, k -> new ArrayList<>()).add(o);
            }
        }
        Map<UUID, PodRunner.Outcome> outcomes = new LinkedHashMap<>();
        for (HostWorkload w : desired.workloads()) {
            List<Observed> mine = new ArrayList<>(byWorkload.getOrDefault(w.id().toString(), List.of()));
            outcomes.put(w.id(), pods.run(w, mine));
        }
        // Exactly the wanted listeners: none for a workload that is stopping or no longer here.
        relay.retain(desired.workloads().stream().filter(w -> !w.stop()).map(w -> w.id().toString()).collect(Collectors.toSet()));
        byWorkload.forEach((workload, stale) -> {
            if (!wanted.contains(workload)) {
                log.info("removing {} container(s) of workload {}, which this host no longer runs", stale.size(), workload);
                pods.stop(workload, stale, ORPHAN_GRACE_SECONDS);
            }
        });
        return outcomes;
    }
}
