package gpufleet.host.workload;

import gpufleet.common.api.ContainerStatus;
import gpufleet.common.api.HostWorkload;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.host.runtime.Observed;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The kubelet's rules for a pod's init containers: each runs to completion, in order, before the
 * next starts and before any app container; a sidecar (restartPolicy Always) only has to be
 * started, then runs beside the app containers. Pure rules; {@link PodRunner} applies them.
 */
final class InitOrder {
    private InitOrder() {}

    /** The waiting reason of containers whose turn has not come, as the kubelet shows it. */
    static final String INITIALIZING = "PodInitializing";

    /** Brings one container to its spec under {@code policy}; {@code soFar}: the pod's outcome with it in a status, for progress reports. */
    @FunctionalInterface
    interface Sync {
        ContainerStatus sync(WorkloadSpec.Container c, String policy, Function<ContainerStatus, PodRunner.Outcome> soFar);
    }

    /**
     * Whether a running sidecar's startup probe has passed (or it has none): the kubelet starts
     * the next init container only then.
     */
    @FunctionalInterface
    interface Started {
        boolean started(WorkloadSpec.Container c, ContainerStatus s);
    }

    /**
     * Brings the init containers along in order, up to the first not done; true once all are.
     * {@code inits} gets each one's status, those not reached yet waiting. {@code ended}: the app
     * containers have all ended for good, so sidecars are not restarted. A completed init
     * container is found by its exited container (exit 0) and never run again, after an agent
     * restart too, as the kubelet finds it in the runtime's records.
     */
    static boolean initialize(HostWorkload w, boolean ended, List<ContainerStatus> inits, Map<String, String> ports, Sync sync,
                              Started started) {
        List<WorkloadSpec.Container> all = w.spec().initContainers();
        List<ContainerStatus> apps = w.spec().containers().stream().map(x -> PodRunner.waiting(x.name(), INITIALIZING, null, 0)).toList();
        for (int i = 0; i < all.size(); i++) {
            WorkloadSpec.Container c = all.get(i);
            String policy = ended && sidecar(c) ? "Never" : restartPolicy(w.spec(), c, true);
            ContainerStatus s = sync.sync(c, policy, last -> {
                List<ContainerStatus> soFar = new ArrayList<>(inits);
                soFar.add(last);
                return new PodRunner.Outcome(apps, false, ports, soFar);
            });
            inits.add(s);
            if (!done(c, s, started) && !(ended && sidecar(c))) {
                all.subList(i + 1, all.size()).forEach(n -> inits.add(PodRunner.waiting(n.name(), INITIALIZING, null, 0)));
                return false;
            }
        }
        return true;
    }

    static boolean sidecar(WorkloadSpec.Container c) {
        return "Always".equals(c.restartPolicy());
    }

    /**
     * When the container is started again after it ends. A sidecar always; an init container only
     * after a failure, and never under the pod's Never (the pod then fails); an app container by
     * the pod's policy.
     */
    static String restartPolicy(WorkloadSpec spec, WorkloadSpec.Container c, boolean init) {
        if (!init) {
            return spec.restartPolicy();
        }
        if (sidecar(c)) {
            return "Always";
        }
        return spec.restartPolicy().equals("Never") ? "Never" : "OnFailure";
    }

    /**
     * Whether the next container may start: a sidecar once it runs and its startup probe passed, an
     * init container once it exited 0.
     */
    static boolean done(WorkloadSpec.Container c, ContainerStatus s, Started started) {
        if (sidecar(c)) {
            return s.state().equals("running") && started.started(c, s);
        }
        return s.state().equals("terminated") && Integer.valueOf(0).equals(s.exitCode());
    }

    /**
     * Whether every app container has ended for good (a Job-like pod that is done): then nothing
     * keeps its sidecars, which are stopped and not restarted. Never under restartPolicy Always.
     */
    static boolean appsEnded(WorkloadSpec spec, List<Observed> mine) {
        if (spec.sidecars().isEmpty() || spec.restartPolicy().equals("Always")) {
            return false;
        }
        for (WorkloadSpec.Container c : spec.containers()) {
            Observed last = mine.stream().filter(o -> c.name().equals(o.label(Labels.CONTAINER)))
                    .max(Comparator.comparingInt(PodRunner::attempt)).orElse(null);
            boolean exited = last != null && (last.state().equals("exited") || last.state().equals("dead"));
            if (!exited || spec.restartPolicy().equals("OnFailure") && !Integer.valueOf(0).equals(last.exitCode())) {
                return false;
            }
        }
        return true;
    }

    /**
     * The GPUs a container runs on. App containers and sidecars run side by side, each on the
     * UUIDs pinned to it. A run-to-completion init container runs while no app container does, so
     * it takes the first it needs of the pod's GPUs other than those of the sidecars started
     * before it (the control-api holds enough: Kubernetes' effective request, {@link WorkloadSpec#gpus()}).
     */
    static List<String> gpus(HostWorkload w, WorkloadSpec.Container c) {
        List<String> own = w.gpus().get(c.name());
        int want = c.resources().gpus();
        if (want == 0 || own != null && own.size() >= want || sidecar(c) || !w.spec().initContainers().contains(c)) {
            return own == null ? List.of() : own;
        }
        Set<String> busy = new LinkedHashSet<>();
        for (WorkloadSpec.Container before : w.spec().initContainers()) {
            if (before == c) {
                break;
            }
            if (sidecar(before)) {
                busy.addAll(w.gpus().getOrDefault(before.name(), List.of()));
            }
        }
        Set<String> free = new LinkedHashSet<>();
        if (own != null) {
            free.addAll(own);
        }
        w.gpus().values().forEach(free::addAll);
        free.removeAll(busy);
        List<String> out = new ArrayList<>(free);
        return out.subList(0, Math.min(want, out.size()));
    }
}
