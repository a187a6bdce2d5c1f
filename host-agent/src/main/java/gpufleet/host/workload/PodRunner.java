package gpufleet.host.workload;

import gpufleet.common.api.ContainerStatus;
import gpufleet.common.api.HostWorkload;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.host.net.PodFirewall;
import gpufleet.host.runtime.ContainerRuntime;
import gpufleet.host.runtime.DiskLimits;
import gpufleet.host.runtime.Observed;
import gpufleet.host.runtime.Plan;
import gpufleet.host.runtime.RuntimeFailure;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Brings one workload's containers to what it should be, level-based: from whatever exists now
 * (after an agent restart, a container killed from outside, a failed create) to the spec. Each
 * pod gets a small pause container holding the network namespace its containers share.
 */
final class PodRunner {
    private static final Logger log = LoggerFactory.getLogger(PodRunner.class);
    /**
     * {@code ports}: each published pod port → where the edge reaches it on this host
     * ("address:port"); {@code initStatuses}: the init containers', in the pod's order.
     */
    record Outcome(List<ContainerStatus> statuses, boolean gone, Map<String, String> ports, List<ContainerStatus> initStatuses) {
        Outcome {
            ports = Map.copyOf(ports);
            initStatuses = List.copyOf(initStatuses);
        }

        Outcome(List<ContainerStatus> statuses, boolean gone, Map<String, String> ports) {
            this(statuses, gone, ports, List.of());
        }

        Outcome(List<ContainerStatus> statuses, boolean gone) {
            this(statuses, gone, Map.of());
        }
    }

    /** Reports a workload's statuses before a run finishes: an image pull can take minutes. */
    @FunctionalInterface
    interface Progress {
        void report(UUID workload, Outcome soFar);
    }

    private final ContainerRuntime runtime;
    private final String host;
    private final PodFiles files;
    private final PodVolumes volumes;
    private final HostPaths paths;
    private final ImageAccess images;
    private final RestartBackoff backoff;
    private final String gpuRuntime;
    private final long pidsLimit;
    private final DiskLimits disk;
    private final Progress progress;
    private final PortRelay relay;
    private final HostLimits limits = HostLimits.ofThisMachine();
    private final LifecycleHooks hooks;
    private final Sandboxes sandboxes;
    private final PodStopper stopper;
    /** Starts new sandboxes and stops a pod's containers side by side; daemon threads, gone a minute after the last use. */
    private final ExecutorService starter = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "pod-side");
        t.setDaemon(true);
        return t;
    });
    /** Containers ("workload/container") whose tenant NVIDIA_* variables were dropped, logged once each. */
    private final Set<String> warnedEnv = ConcurrentHashMap.newKeySet();
    /** Workloads refused by {@link HostLimits}, logged once each. */
    private final Set<String> refused = ConcurrentHashMap.newKeySet();
    /** How long the image pull of a container attempt took ("workload/container/attempt"), kept while it runs. */
    private final Map<String, Long> pulls = new ConcurrentHashMap<>();
    private final Startup startup;

    /** Whether a running container's startup probe has passed, or it has none (the probes know; see {@link Probes}). */
    @FunctionalInterface
    interface Startup {
        /** Every container counts as started once it runs: for a runner without probes. */
        Startup NONE = (w, c, s) -> true;

        boolean passed(HostWorkload w, WorkloadSpec.Container c, ContainerStatus s);
    }

    PodRunner(HostContainers containers, PodFiles files, RestartBackoff backoff, String gpuRuntime, String pauseImage, long pidsLimit,
              Progress progress, PortRelay relay, PodFirewall firewall, TenantNetworks networks, DiskLimits disk, Startup startup) {
        this.runtime = containers.runtime();
        this.host = containers.host();
        this.files = files;
        this.volumes = new PodVolumes(files.root());
        this.paths = new HostPaths(files.root());
        this.images = new ImageAccess(runtime, files.root());
        this.backoff = backoff;
        this.gpuRuntime = gpuRuntime;
        this.pidsLimit = pidsLimit;
        this.progress = (workload, soFar) -> progress.report(workload, paths.scrub(soFar));
        this.startup = startup;
        this.relay = relay;
        this.disk = disk;
        this.hooks = new LifecycleHooks(runtime);
        this.stopper = new PodStopper(runtime, hooks, starter);
        this.sandboxes = new Sandboxes(runtime, host, pauseImage, disk, firewall, networks, volumes, starter);
    }

    /** {@code mine}: the workload's containers on this host, as listed at the start of the pass. */
    Outcome run(HostWorkload w, List<Observed> mine) {
        return paths.scrub(runPod(w, mine));
    }

    private Outcome runPod(HostWorkload w, List<Observed> mine) {
        if (w.stop()) {
            relay.unpublish(w.id().toString());
            return stop(w, w.id().toString(), mine, w.spec().terminationGracePeriodSeconds().intValue());
        }
        String refusal = limits.refusal(w.spec());
        if (refusal != null) {
            return refuse(w, refusal);
        }
        Sandboxes.Sandbox sandbox;
        try {
            sandbox = sandboxes.ensure(w, mine);
        } catch (RuntimeFailure f) {
            relay.publish(w.id().toString(), null, w.publish()); // keeps the ports for when the sandbox is back
            return new Outcome(w.spec().containers().stream()
                    .map(c -> waiting(c.name(), f.reason(), "pod sandbox: " + f.getMessage(), 0)).toList(), false);
        }
        // Published before the containers start: a long image pull already reports where the pod will answer.
        Map<String, String> ports = relay.publish(w.id().toString(), sandbox.addresses().get(TenantNetworks.name(w.tenant())), w.publish());
        files.refresh(w.id().toString(), w.spec()); // a ConfigMap or Secret volume follows its object while the pod runs
        boolean ended = InitOrder.appsEnded(w.spec(), mine);
        List<ContainerStatus> inits = new ArrayList<>();
        boolean initialized = InitOrder.initialize(w, ended, inits, ports,
                (c, policy, soFar) -> container(w, c, attempts(mine, c), sandbox, policy, soFar), (c, s) -> startup.passed(w, c, s));
        List<ContainerStatus> statuses = new ArrayList<>();
        for (WorkloadSpec.Container c : w.spec().containers()) {
            if (!initialized) {
                statuses.add(waiting(c.name(), InitOrder.INITIALIZING, null, 0));
                continue;
            }
            statuses.add(container(w, c, attempts(mine, c), sandbox, w.spec().restartPolicy(), last -> {
                List<ContainerStatus> soFar = new ArrayList<>(statuses);
                soFar.add(last);
                return new Outcome(soFar, false, ports, inits);
            }));
        }
        if (ended) {
            stopper.stopSidecars(w, mine);
        }
        try {
            // Even when no container started (an image pull failed): the next pass must find the
            // sandbox running, or it would take it for a dead one and start the pod over.
            sandbox.awaitStarted("");
        } catch (RuntimeFailure f) {
            // Seen by the next pass as a sandbox that is not running.
        }
        return new Outcome(statuses, false, ports, inits);
    }

    private static List<Observed> attempts(List<Observed> mine, WorkloadSpec.Container c) {
        return mine.stream().filter(o -> c.name().equals(o.label(Labels.CONTAINER))).toList();
    }

    /** A spec this host will not run: nothing is created, each container waits with the reason. */
    private Outcome refuse(HostWorkload w, String refusal) {
        if (refused.add(w.id().toString())) {
            log.warn("workload {} of tenant {} refused by this host: {}", w.id(), w.tenant(), refusal);
        }
        return new Outcome(w.spec().containers().stream()
                .map(c -> waiting(c.name(), "CreateContainerError", "refused by the host: " + refusal, 0)).toList(), false);
    }

    /** {@code policy}: when this container is started again after it ends (see {@link InitOrder#restartPolicy}). */
    private ContainerStatus container(HostWorkload w, WorkloadSpec.Container c, List<Observed> attempts, Sandboxes.Sandbox sandbox,
                                      String policy, Function<ContainerStatus, Outcome> soFar) {
        String key = w.id() + "/" + c.name();
        Observed cur = latest(attempts);
        int attempt = cur == null ? 0 : attempt(cur);
        int current = attempt;
        // How the run before the current one ended: the kubelet's lastState, kept while the attempt lasts.
        ContainerStatus.Terminated before = ended(latest(attempts.stream().filter(o -> attempt(o) < current).toList()));
        if (cur != null && ContainerHash.changed(cur, c)) {
            // As the kubelet: a container whose definition changed (a new image) is stopped and started
            // again as the next attempt, whatever the pod's restartPolicy.
            try {
                runtime.stop(cur.id(), w.spec().terminationGracePeriodSeconds().intValue());
            } catch (RuntimeFailure e) {
                return waiting(c.name(), "ContainerCreating", "stopping the container to replace it: " + e.getMessage(), attempt, before);
            }
            return start(w, c, attempt + 1, sandbox, key, soFar, before);
        }
        if (cur != null && (cur.state().equals("running") || cur.state().equals("restarting") || cur.state().equals("paused"))) {
            return new ContainerStatus(c.name(), "running", null, null, null, attempt, cur.startedAt(), null,
                    "docker://" + cur.id(), c.image(), true, pulls.get(key + "/" + attempt), before);
        }
        if (cur != null && (cur.state().equals("exited") || cur.state().equals("dead"))) {
            ContainerStatus.Terminated end = ended(cur);
            boolean restart = policy.equals("Always") || (policy.equals("OnFailure") && !Integer.valueOf(0).equals(cur.exitCode()));
            if (!restart) {
                return new ContainerStatus(c.name(), "terminated", end.reason(), end.message(), end.exitCode(), attempt,
                        end.startedAt(), end.finishedAt(), end.containerId(), c.image(), false, null, before);
            }
            if (!backoff.tryNow(key, Instant.now(), end.finishedAt())) {
                Duration left = backoff.remaining(key, Instant.now(), end.finishedAt());
                return waiting(c.name(), "CrashLoopBackOff", "back-off " + left.toSeconds()
                        + "s restarting failed container " + c.name() + " (last exit code " + cur.exitCode() + ")", attempt, end);
            }
            before = end;
            attempt++;
        } else if (cur != null) {
            // Created but never started: a start that failed. Start over after the back-off.
            if (!backoff.tryNow(key, Instant.now())) {
                return waiting(c.name(), "RunContainerError", cur.error() != null ? cur.error() : "container did not start", attempt,
                        before);
            }
            removeQuietly(cur.id());
            attempt++;
        }
        // Keep the last ended attempt (for logs of the previous run), remove older ones.
        for (Observed old : attempts) {
            if (cur != null && old != cur && attempt(old) < attempt(cur)) {
                removeQuietly(old.id());
            }
        }
        return start(w, c, attempt, sandbox, key, soFar, before);
    }

    /**
     * {@code soFar}: the pod's outcome with this container in the given status, for progress
     * reports; {@code before}: how the previous run ended (null for the first).
     */
    private ContainerStatus start(HostWorkload w, WorkloadSpec.Container c, int attempt, Sandboxes.Sandbox sandbox, String key,
                                  Function<ContainerStatus, Outcome> soFar, ContainerStatus.Terminated before) {
        if (!backoff.remaining(key + "/pull", Instant.now()).isZero()) {
            return waiting(c.name(), "ImagePullBackOff", "Back-off pulling image \"" + c.image() + "\"", attempt, before);
        }
        long t0 = System.nanoTime();
        Long pulledMillis = null;
        try {
            boolean pulled = images.ensure(c.image(), c.imagePullPolicy(), w.spec().imagePullSecrets(), () -> progress.report(
                    w.id(), soFar.apply(waiting(c.name(), "ContainerCreating", "Pulling image \"" + c.image() + "\"", attempt, before))));
            if (pulled) {
                pulledMillis = (System.nanoTime() - t0) / 1_000_000;
                pulls.put(key + "/" + attempt, pulledMillis);
            }
        } catch (RuntimeFailure f) {
            backoff.tryNow(key + "/pull", Instant.now());
            return waiting(c.name(), f.reason(), f.getMessage(), attempt, before);
        }
        String name = "gf-" + w.id() + "-" + c.name() + "-" + attempt;
        try {
            String id = runtime.create(plan(w, c, attempt, sandbox.id(), name));
            sandbox.awaitStarted("pod sandbox: ");
            runtime.start(id);
            Instant started = Instant.now();
            String network = TenantNetworks.name(w.tenant());
            String hookFailure = hooks.postStart(w, c, id, () -> sandbox.addresses().containsKey(network)
                    ? sandbox.addresses().get(network) : sandboxes.addresses(sandbox.id()).get(network));
            if (hookFailure != null) {
                runtime.stop(id, 0); // as the kubelet: killed, then started again by the pod's restartPolicy
                return waiting(c.name(), "PostStartHookError", hookFailure, attempt, before).with(false, List.of(
                        new ContainerStatus.Event("poststart." + id, "Warning", "FailedPostStartHook", hookFailure)));
            }
            return new ContainerStatus(c.name(), "running", null, null, null, attempt, started, null,
                    "docker://" + id, c.image(), true, pulledMillis, before);
        } catch (RuntimeFailure f) {
            return waiting(c.name(), f.reason(), f.getMessage(), attempt, before);
        }
    }

    private Plan plan(HostWorkload w, WorkloadSpec.Container c, int attempt, String pauseId, String name) throws RuntimeFailure {
        List<String> gpus = InitOrder.gpus(w, c);
        List<String> dropped = NvidiaEnv.dropped(c.env());
        if (!dropped.isEmpty() && warnedEnv.add(w.id() + "/" + c.name())) {
            log.warn("workload {} container {}: the tenant's {} dropped (the host sets the NVIDIA runtime's variables)",
                    w.id(), c.name(), String.join(", ", dropped));
        }
        List<String> env = NvidiaEnv.of(c.env(), runtime.imageEnv(c.image()), gpus);
        Long fsGroup = w.spec().securityContext() == null ? null : w.spec().securityContext().fsGroup();
        List<Plan.Bind> binds = new ArrayList<>(files.write(w.id().toString(), c, fsGroup));
        binds.addAll(volumes.binds(w, c));
        return new Plan(name, c.image(), ContainerHash.labelled(Labels.of(host, w.id().toString(), w.podUid(), w.tenant(), c.name(),
                attempt), c),
                c.command(), c.args(), env, gpuRuntime, HostLimits.nanoCpus(c), c.resources().memoryBytes(),
                pidsLimit, "container:" + pauseId, binds, c.workingDir(),
                Boolean.TRUE.equals(c.tty()), Boolean.TRUE.equals(c.stdin()), disk.logMaxBytes(), disk.logMaxFiles(),
                ContainerSettings.container(w, c, runtime.imageUser(c.image()), pauseId, volumes.memory(w, c)));
    }

    /**
     * Stops every container of the workload, all at once under one grace period for the whole
     * pod (SIGTERM, then SIGKILL when it ends), the sandbox last; then removes them and its files.
     */
    Outcome stop(String workload, List<Observed> mine, int graceSeconds) {
        return stop(null, workload, mine, graceSeconds);
    }

    /** {@code w}: the pod, for its hooks and its sidecars' order; null for containers of a pod no longer known. */
    private Outcome stop(HostWorkload w, String workload, List<Observed> mine, int graceSeconds) {
        List<Observed> running = mine.stream()
                .filter(o -> !Labels.PAUSE.equals(o.label(Labels.CONTAINER)) && o.state().equals("running")).toList();
        List<ContainerStatus> last;
        try {
            Map<String, ContainerStatus.Event> hookFailures = stopper.stop(w, running, graceSeconds);
            last = stopper.lastStatuses(mine).stream().map(s -> hookFailures.containsKey(s.name())
                    ? s.with(false, List.of(hookFailures.get(s.name()))) : s).toList();
            for (Observed o : mine) {
                runtime.remove(o.id());
            }
        } catch (RuntimeFailure f) {
            log.warn("workload {} not stopped yet: {}", workload, f.getMessage());
            return new Outcome(List.of(), false);
        }
        files.remove(workload);
        try {
            volumes.remove(workload, runtime);
        } catch (RuntimeFailure f) {
            log.warn("memory volumes of workload {} not removed: {}", workload, f.getMessage());
        }
        backoff.forget(workload);
        pulls.keySet().removeIf(k -> k.startsWith(workload + "/"));
        refused.remove(workload);
        warnedEnv.removeIf(k -> k.startsWith(workload + "/"));
        if (w == null) {
            return new Outcome(last, true);
        }
        Set<String> inits = new HashSet<>(w.spec().initContainers().stream().map(WorkloadSpec.Container::name).toList());
        return new Outcome(last.stream().filter(s -> !inits.contains(s.name())).toList(), true, Map.of(),
                last.stream().filter(s -> inits.contains(s.name())).toList());
    }

    /**
     * How an attempt ended, as the kubelet words it: OOMKilled when the engine says the kernel
     * killed it for memory, Completed for exit 0, Error otherwise. Null for no attempt.
     */
    static ContainerStatus.Terminated ended(Observed o) {
        if (o == null) {
            return null;
        }
        String reason = "true".equals(o.oomKilled()) ? "OOMKilled" : Integer.valueOf(0).equals(o.exitCode()) ? "Completed" : "Error";
        return new ContainerStatus.Terminated(reason, o.error(), o.exitCode(), o.startedAt(), o.finishedAt(), "docker://" + o.id());
    }

    static ContainerStatus waiting(String name, String reason, String message, int attempt) {
        return waiting(name, reason, message, attempt, null);
    }

    private static ContainerStatus waiting(String name, String reason, String message, int attempt, ContainerStatus.Terminated before) {
        return new ContainerStatus(name, "waiting", reason, message, null, attempt, null, null, null, null, false, null, before);
    }

    private void removeQuietly(String id) {
        try {
            runtime.remove(id);
        } catch (RuntimeFailure e) {
            // Retried next round; the container is found again by its labels.
        }
    }

    static int attempt(Observed o) {
        try {
            return Integer.parseInt(o.label(Labels.ATTEMPT));
        } catch (RuntimeException e) {
            return 0;
        }
    }

    static Observed latest(List<Observed> attempts) {
        return attempts.stream().max(Comparator.comparingInt(PodRunner::attempt)).orElse(null);
    }
}
