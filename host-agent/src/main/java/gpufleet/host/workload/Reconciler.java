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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Compares what the control-api wants on this host with this host's containers (see
 * {@link HostContainers}) and hands each workload to its own worker ({@link PodWorkers}), which
 * closes that workload's gap: runs what is missing, stops what is deleted, removes what this
 * host no longer runs. A pass only lists and hands out; one pod's slow or failing work never
 * delays another's.
 */
final class Reconciler implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Reconciler.class);
    static final int ORPHAN_GRACE_SECONDS = 10;

    private final HostContainers containers;
    private final PodRunner pods;
    private final PortRelay relay;
    private final TenantNetworks networks;
    private final PodRunner.Progress report;
    private final PodCheck check;
    private final PodWorkers workers = new PodWorkers();
    private boolean legacyLookedFor;

    /** {@code report}: where each workload's outcome goes once its worker has synced it. */
    Reconciler(HostContainers containers, PodRunner pods, PortRelay relay, TenantNetworks networks, PodRunner.Progress report,
               PodCheck check) {
        this.containers = containers;
        this.pods = pods;
        this.relay = relay;
        this.networks = networks;
        this.report = report;
        this.check = check;
    }

    /**
     * One pass: lists this host's containers and hands every workload to its worker. Returns at
     * once with a future that completes when every workload's sync of this pass has finished,
     * with each desired workload's outcome (where its published ports are included). Throws when
     * the engine cannot be listed.
     */
    CompletableFuture<Map<UUID, PodRunner.Outcome>> dispatch(HostDesired desired) throws RuntimeFailure {
        Set<String> wanted = desired.workloads().stream().map(w -> w.id().toString()).collect(Collectors.toSet());
        if (!legacyLookedFor && desired.version() >= 0) {
            containers.adoptLegacy(wanted);
            legacyLookedFor = true;
        }
        long seenAt = System.nanoTime();
        Map<String, List<Observed>> byWorkload = new HashMap<>();
        for (Observed o : containers.list()) {
            String w = Labels.workload(o);
            if (w != null) {
                byWorkload.computeIfAbsent(w, k -> new ArrayList<>()).add(o);
            }
        }
        Map<UUID, CompletableFuture<PodRunner.Outcome>> syncs = new LinkedHashMap<>();
        for (HostWorkload w : desired.workloads()) {
            List<Observed> listed = byWorkload.getOrDefault(w.id().toString(), List.of());
            syncs.put(w.id(), workers.submit(w.id().toString(), seenAt, waited -> sync(w, listed, waited)));
        }
        // Exactly the wanted listeners: none for a workload that is stopping or no longer here.
        relay.retain(desired.workloads().stream().filter(w -> !w.stop()).map(w -> w.id().toString()).collect(Collectors.toSet()));
        List<CompletableFuture<?>> all = new ArrayList<>(syncs.values());
        byWorkload.forEach((workload, stale) -> {
            if (!wanted.contains(workload)) {
                all.add(workers.submit(workload, seenAt, waited -> removeOrphan(workload, stale, waited)));
            }
        });
        networks.tidy();
        return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).handle((v, e) -> {
            Map<UUID, PodRunner.Outcome> out = new LinkedHashMap<>();
            syncs.forEach((id, f) -> out.put(id, f.isCompletedExceptionally() ? null : f.join()));
            return out;
        });
    }

    /** One pass run to its end: each desired workload's outcome. */
    Map<UUID, PodRunner.Outcome> reconcile(HostDesired desired) throws RuntimeFailure {
        try {
            return dispatch(desired).join();
        } catch (CompletionException e) {
            throw new IllegalStateException("a workload's sync failed", e.getCause());
        }
    }

    /** {@code waited}: the workload's earlier work ended after the listing, which is then taken again. */
    private PodRunner.Outcome sync(HostWorkload w, List<Observed> listed, boolean waited) {
        List<Observed> mine;
        try {
            mine = new ArrayList<>(waited ? containers.of(w.id().toString()) : listed);
        } catch (RuntimeFailure f) {
            log.warn("workload {} not synced: {}", w.id(), f.getMessage());
            return null;
        }
        PodRunner.Outcome o = pods.run(w, mine);
        report.report(w.id(), o);
        if (!w.stop()) {
            check.check(w, mine);
        }
        return o;
    }

    private Object removeOrphan(String workload, List<Observed> listed, boolean waited) {
        try {
            List<Observed> stale = waited ? containers.of(workload) : listed;
            if (!stale.isEmpty()) {
                log.info("removing {} container(s) of workload {}, which this host no longer runs", stale.size(), workload);
                pods.stop(workload, stale, ORPHAN_GRACE_SECONDS);
            }
        } catch (RuntimeFailure f) {
            log.warn("containers of workload {} not removed yet: {}", workload, f.getMessage());
        }
        return workload;
    }

    /**
     * The fence's last word: kills every container of this host that still runs, on the caller's
     * thread, whatever the pods' workers are doing (a pod in a long graceful stop holds its worker).
     * Returns how many were killed.
     */
    int killRunning() throws RuntimeFailure {
        int killed = 0;
        for (Observed o : containers.list()) {
            if (Labels.workload(o) != null && o.state().equals("running")) {
                containers.runtime().stop(o.id(), 0);
                killed++;
            }
        }
        return killed;
    }

    @Override
    public void close() {
        workers.close();
    }
}
