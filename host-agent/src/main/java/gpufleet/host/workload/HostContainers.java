package gpufleet.host.workload;

import gpufleet.host.runtime.ContainerRuntime;
import gpufleet.host.runtime.Observed;
import gpufleet.host.runtime.RuntimeFailure;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one way the agent finds containers: those that carry its host's label, filtered by the
 * engine, never by name or by a looser listing sorted out here. Several agents may share one
 * Docker Engine; a container of another host is never listed, so it cannot be adopted, stopped
 * or removed by mistake.
 *
 * <p>Agents before host labels left containers without one. Those of a workload the control-api
 * placed on this host are this host's: they are looked for once per agent start, for the
 * workloads of the first desired list, and adopted (Docker cannot add a label to a container);
 * any other unlabelled container may be another agent's and is left alone.
 */
public final class HostContainers {
    private static final Logger log = LoggerFactory.getLogger(HostContainers.class);

    private final ContainerRuntime runtime;
    private final String host;
    /** Workloads of this host with containers an older agent made; dropped once those are gone. */
    private final Set<String> legacy = ConcurrentHashMap.newKeySet();

    public HostContainers(ContainerRuntime runtime, String host) {
        this.runtime = runtime;
        this.host = host;
    }

    public String host() {
        return host;
    }

    ContainerRuntime runtime() {
        return runtime;
    }

    /** Every container of this host, in any state. */
    public List<Observed> list() throws RuntimeFailure {
        List<Observed> all = new ArrayList<>(runtime.list(Labels.ofHost(host)));
        for (String w : List.copyOf(legacy)) {
            List<Observed> old = legacyOf(w);
            if (old.isEmpty()) {
                legacy.remove(w);
            }
            all.addAll(old);
        }
        return all;
    }

    /** The containers of one workload of this host. */
    public List<Observed> of(String workload) throws RuntimeFailure {
        Map<String, String> labels = Map.of(Labels.MANAGED, "true", Labels.HOST, host, Labels.WORKLOAD, workload);
        List<Observed> mine = new ArrayList<>(runtime.list(labels));
        if (legacy.contains(workload)) {
            mine.addAll(legacyOf(workload));
        }
        return mine;
    }

    /** Called with the first desired list after a start: a workload placed later never met an older agent. */
    void adoptLegacy(Collection<String> workloads) throws RuntimeFailure {
        for (String w : workloads) {
            List<Observed> old = legacyOf(w);
            if (!old.isEmpty()) {
                log.info("adopting {} container(s) of workload {} made by an agent before host labels", old.size(), w);
                legacy.add(w);
            }
        }
    }

    /**
     * A workload's containers without a host label, found by the engine through the workload's
     * label, and its pause container if it was a spare a pod claimed (those carry no workload label).
     */
    private List<Observed> legacyOf(String workload) throws RuntimeFailure {
        List<Observed> old = new ArrayList<>();
        for (Observed o : runtime.list(Map.of(Labels.MANAGED, "true", Labels.WORKLOAD, workload))) {
            if (o.label(Labels.HOST) == null) {
                old.add(o);
            }
        }
        runtime.inspect(Labels.sandboxName(workload))
                .filter(o -> o.label(Labels.HOST) == null && o.label(Labels.WORKLOAD) == null && workload.equals(Labels.workload(o)))
                .ifPresent(old::add);
        return old;
    }
}
