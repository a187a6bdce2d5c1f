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
    private final PortRelay relay;

    Reconciler(ContainerRuntime runtime, PodRunner pods, PortRelay relay) {
        this.runtime = runtime;
        this.pods = pods;
        this.relay = relay;
    }

    /**
     * One pass; returns each desired workload's outcome (with where its published ports are).
     * Throws when the engine cannot be listed.
     */
    Map<UUID, PodRunner.Outcome> reconcile(HostDesired desired) throws RuntimeFailure {
        List<Observed> all = runtime.list(Labels.MANAGED, "true");
        Map<String, List<Observed>> byWorkload = new HashMap<>(all.stream()
                .filter(o -> Labels.workload(o) != null)
                .collect(Collectors.groupingBy(Labels::workload)));
        List<Observed> spares = new ArrayList<>(all.stream().filter(Labels::unclaimedSpare).toList());
        Map<UUID, PodRunner.Outcome> outcomes = new LinkedHashMap<>();
        for (HostWorkload w : desired.workloads()) {
            List<Observed> mine = new ArrayList<>(byWorkload.getOrDefault(w.id().toString(), List.of()));
            outcomes.put(w.id(), pods.run(w, mine, spares));
        }
        Set<String> wanted = desired.workloads().stream().map(w -> w.id().toString()).collect(Collectors.toSet());
        // Exactly the wanted listeners: none for a workload that is stopping or no longer here.
        relay.retain(desired.workloads().stream().filter(w -> !w.stop()).map(w -> w.id().toString()).collect(Collectors.toSet()));
        byWorkload.forEach((workload, containers) -> {
            if (!wanted.contains(workload)) {
                log.info("removing {} container(s) of workload {}, which this host no longer runs", containers.size(), workload);
                pods.stop(workload, containers, ORPHAN_GRACE_SECONDS);
            }
        });
        return outcomes;
    }

    /** How long a tenant keeps its spare after its last pod here is gone: pods tend to come in runs. */
    static final java.time.Duration SPARE_KEPT = java.time.Duration.ofMinutes(10);
    private final Map<String, java.time.Instant> tenantsSeen = new HashMap<>();

    /**
     * Keeps one running spare pause container for each tenant with pods on this host (or had,
     * within the last ten minutes), and none for others. Done after statuses are reported: off the
     * path of a starting pod.
     */
    void replenishSpares(HostDesired desired) throws RuntimeFailure {
        java.time.Instant now = java.time.Instant.now();
        desired.workloads().stream().filter(w -> !w.stop()).forEach(w -> tenantsSeen.put(w.tenant(), now));
        tenantsSeen.values().removeIf(t -> t.isBefore(now.minus(SPARE_KEPT)));
        Set<String> tenants = desired.workloads().isEmpty() && desired.version() < 0 ? Set.of() : Set.copyOf(tenantsSeen.keySet());
        List<Observed> spares = runtime.list(Labels.MANAGED, "true").stream().filter(Labels::unclaimedSpare).toList();
        Set<String> covered = new java.util.HashSet<>();
        for (Observed s : spares) {
            String tenant = s.label(Labels.SPARE_FOR);
            if (!tenants.contains(tenant) || !s.state().equals("running") || !covered.add(tenant)) {
                runtime.remove(s.id());
            }
        }
        for (String tenant : tenants) {
            if (!covered.contains(tenant)) {
                pods.startSpare(tenant);
            }
        }
    }
}
