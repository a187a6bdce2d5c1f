package gpufleet.host.workload;

import gpufleet.common.api.ContainerStatus;
import gpufleet.common.api.HostWorkload;
import gpufleet.common.api.Probe;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.host.runtime.ContainerRuntime;
import gpufleet.host.runtime.Observed;
import gpufleet.host.runtime.RuntimeFailure;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The kubelet's probe workers: each running container gets one worker per probe it has, ticking
 * every periodSeconds on a timer of its own, so a probe's timing never waits for the pod's sync
 * nor another pod's work. A probe runs on a pool thread and is bounded by its timeoutSeconds; a
 * worker whose probe is still out skips its tick. Results follow the kubelet: readiness starts
 * failed and drives the container's {@code ready}; liveness and readiness wait until the startup
 * probe passed; failureThreshold failures in a row of liveness or startup kill the container
 * (the probe's grace period, else the pod's), and the pod's restartPolicy decides what comes after.
 * The pod's worker starts and ends the probe workers ({@link #check}); every status the host
 * reports passes through {@link #annotate}, which sets {@code ready} and {@code started} and adds
 * the Events.
 */
final class Probes implements PodCheck, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Probes.class);
    /** A run the pod's sync has not confirmed for this long belongs to a pod no longer on this host. */
    private static final long FORGET_NANOS = TimeUnit.MINUTES.toNanos(2);
    /** A run started by a sync shows in the next listing; one not there by then is gone. */
    private static final long UNLISTED_NANOS = TimeUnit.SECONDS.toNanos(30);

    private final ContainerRuntime runtime;
    private final Prober prober;
    private final Function<UUID, HostWorkload> workloads;
    private final Runnable changed;
    private final ScheduledExecutorService timer = Executors.newScheduledThreadPool(1, daemon("probe-timer"));
    private final ExecutorService pool = Executors.newCachedThreadPool(daemon("probe"));
    /** Container runs being probed, by Docker id. */
    private final Map<String, Run> runs = new ConcurrentHashMap<>();
    /** The newest Events of each container ("workload/name"), kept across its runs. */
    private final Map<String, Deque<ContainerStatus.Event>> events = new ConcurrentHashMap<>();

    /**
     * {@code workloads}: the workload of an id as the host last learned it (null when unknown);
     * {@code changed}: called when a result changed what the host reports, so it reports soon.
     */
    Probes(ContainerRuntime runtime, Function<UUID, HostWorkload> workloads, Runnable changed) {
        this.runtime = runtime;
        this.prober = new Prober(runtime);
        this.workloads = workloads;
        this.changed = changed;
    }

    /**
     * Ends the workers of runs that ended or were removed, starts those of running containers the
     * host found (after an agent restart), and tells each run the pod's address.
     */
    @Override
    public void check(HostWorkload w, List<Observed> mine) {
        long now = System.nanoTime();
        Observed pause = mine.stream().filter(o -> Labels.PAUSE.equals(o.label(Labels.CONTAINER))).findFirst().orElse(null);
        String address = pause == null ? null : pause.addresses().get(TenantNetworks.name(w.tenant()));
        Map<String, Observed> listed = new HashMap<>();
        for (Observed o : mine) {
            listed.put(o.id(), o);
            WorkloadSpec.Container c = container(w.spec(), o.label(Labels.CONTAINER));
            if (c != null && o.state().equals("running")) {
                Run run = track(w, c, o.id(), PodRunner.attempt(o), o.startedAt());
                if (run != null) {
                    run.address = address;
                    run.listed = true;
                    run.seen = now;
                }
            }
        }
        runs.values().removeIf(r -> {
            Observed o = listed.get(r.id);
            // A run started during this sync is not in the listing yet; one listed before and gone now was removed.
            boolean gone = r.workload.equals(w.id()) && (o != null ? !o.state().equals("running") : r.listed || now - r.seen > UNLISTED_NANOS)
                    || now - r.seen > FORGET_NANOS || !wanted(r.workload);
            if (gone) {
                r.ticks.forEach(t -> t.cancel(false));
            }
            return gone;
        });
        // The Events of pods no longer on this host go with them.
        events.keySet().removeIf(k -> workloads.apply(UUID.fromString(k.substring(0, k.indexOf('/')))) == null);
    }

    /** Whether the host is still to run the workload (a pod being deleted is probed no more). */
    private boolean wanted(UUID workload) {
        HostWorkload w = workloads.apply(workload);
        return w != null && !w.stop();
    }

    /** The statuses with {@code ready} as the probes say and the Events they gave; starts the workers of new runs. */
    PodRunner.Outcome annotate(UUID id, PodRunner.Outcome o) {
        HostWorkload w = o == null || o.gone() ? null : workloads.apply(id);
        if (w == null) {
            return o;
        }
        return new PodRunner.Outcome(annotate(w, o.statuses()), o.gone(), o.ports(), annotate(w, o.initStatuses()));
    }

    private List<ContainerStatus> annotate(HostWorkload w, List<ContainerStatus> statuses) {
        List<ContainerStatus> out = new ArrayList<>();
        for (ContainerStatus s : statuses) {
            WorkloadSpec.Container c = container(w.spec(), s.name());
            Deque<ContainerStatus.Event> seen = events.get(w.id() + "/" + s.name());
            List<ContainerStatus.Event> said = seen == null ? List.of() : snapshot(seen);
            boolean ready = s.ready();
            // The kubelet's started: the container runs and its startup probe, if it has one, passed.
            boolean started = s.state().equals("running");
            if (c != null && !w.stop() && started && s.containerId() != null) {
                Run run = track(w, c, s.containerId().replaceFirst("^docker://", ""), s.restartCount(), s.startedAt());
                ready = ready && (run == null || run.ready());
                started = run == null || run.started;
            }
            out.add(s.with(ready, started, said.isEmpty() ? s.events() : said));
        }
        return out;
    }

    /**
     * Whether the running container's startup probe has passed, or it has none; its probe workers
     * start here if they have not yet. A pass wakes the loop, which then starts what waited on it.
     */
    boolean startupPassed(HostWorkload w, WorkloadSpec.Container c, ContainerStatus s) {
        if (!s.state().equals("running") || s.containerId() == null) {
            return false;
        }
        Run run = track(w, c, s.containerId().replaceFirst("^docker://", ""), s.restartCount(), s.startedAt());
        return run == null || run.started;
    }

    /** The run of a running container with probes, its workers started on first sight; null for one without probes. */
    private Run track(HostWorkload w, WorkloadSpec.Container c, String id, int attempt, Instant startedAt) {
        if (probes(c).isEmpty()) {
            return null;
        }
        return runs.computeIfAbsent(id, x -> start(w, c, id, attempt, startedAt == null ? Instant.now() : startedAt));
    }

    private static List<ContainerStatus.Event> snapshot(Deque<ContainerStatus.Event> seen) {
        synchronized (seen) {
            return List.copyOf(seen);
        }
    }

    private Run start(HostWorkload w, WorkloadSpec.Container c, String id, int attempt, Instant started) {
        Run run = new Run(w.id(), c, id, attempt, started, w.spec().terminationGracePeriodSeconds(), w.spec().restartPolicy());
        for (Map.Entry<String, Probe> p : probes(c).entrySet()) {
            Worker worker = new Worker(run, p.getKey(), p.getValue());
            run.ticks.add(timer.scheduleWithFixedDelay(worker::tick, 0, p.getValue().periodSeconds(), TimeUnit.SECONDS));
        }
        return run;
    }

    /** The container's probes by the kubelet's name for each, startup first. */
    private static Map<String, Probe> probes(WorkloadSpec.Container c) {
        Map<String, Probe> out = new LinkedHashMap<>();
        if (c.startupProbe() != null) {
            out.put("Startup", c.startupProbe());
        }
        if (c.livenessProbe() != null) {
            out.put("Liveness", c.livenessProbe());
        }
        if (c.readinessProbe() != null) {
            out.put("Readiness", c.readinessProbe());
        }
        return out;
    }

    /** An app container or a sidecar (the only init containers with probes) of the pod, by name. */
    private static WorkloadSpec.Container container(WorkloadSpec spec, String name) {
        return spec.allContainers().stream().filter(c -> c.name().equals(name)).findFirst().orElse(null);
    }

    private void say(Run run, String key, String type, String reason, String message) {
        Deque<ContainerStatus.Event> seen = events.computeIfAbsent(run.workload + "/" + run.container.name(), k -> new ArrayDeque<>());
        String text = message.strip();
        ContainerStatus.Event e = new ContainerStatus.Event(key, type, reason, text.length() > 1000 ? text.substring(0, 1000) : text);
        synchronized (seen) {
            if (seen.stream().anyMatch(x -> x.key().equals(key))) {
                return;
            }
            seen.addLast(e);
            while (seen.size() > ContainerStatus.MAX_EVENTS) {
                seen.removeFirst();
            }
        }
        changed.run();
    }

    /** One run of a container (one Docker container) and what its probes found so far. */
    private static final class Run {
        final UUID workload;
        final WorkloadSpec.Container container;
        final String id;
        final int attempt;
        final Instant startedAt;
        final long podGrace;
        final boolean restarts;
        final List<ScheduledFuture<?>> ticks = new ArrayList<>();
        volatile String address;
        volatile long seen = System.nanoTime();
        /** Seen in a listing of the host's containers (a run is started from a status before it is listed). */
        volatile boolean listed;
        /** Startup passed (or there is no startup probe). */
        volatile boolean started;
        /** The readiness probe's result (failed until it first passes, as the kubelet's). */
        volatile boolean readinessPassed;
        /** Liveness or startup failed: killed, never probed again. */
        volatile boolean onHold;

        Run(UUID workload, WorkloadSpec.Container container, String id, int attempt, Instant startedAt, long podGrace,
            String restartPolicy) {
            this.workload = workload;
            this.container = container;
            this.id = id;
            this.attempt = attempt;
            this.startedAt = startedAt;
            this.podGrace = podGrace;
            this.restarts = !"Never".equals(restartPolicy);
            this.started = container.startupProbe() == null;
        }

        boolean ready() {
            return started && !onHold && (container.readinessProbe() == null || readinessPassed);
        }
    }

    /** One probe of one run, with the kubelet's thresholds: a result counts once it held threshold times in a row. */
    private final class Worker {
        final Run run;
        final String kind;
        final Probe probe;
        final AtomicBoolean out = new AtomicBoolean();
        final AtomicInteger streaks = new AtomicInteger();
        Boolean last;
        int inARow;

        Worker(Run run, String kind, Probe probe) {
            this.run = run;
            this.kind = kind;
            this.probe = probe;
        }

        void tick() {
            boolean startup = kind.equals("Startup");
            if (run.onHold || startup == run.started || Instant.now().isBefore(run.startedAt.plusSeconds(probe.initialDelaySeconds()))) {
                return;
            }
            if (run.address == null && probe.handler().exec() == null) {
                return; // the pod's address comes with the next listing of the host's containers
            }
            if (!out.compareAndSet(false, true)) {
                return; // the last probe is still out: bounded by its timeout, it is not stacked
            }
            pool.execute(() -> {
                try {
                    handle(prober.run(probe, run.id, run.address));
                } catch (RuntimeException e) {
                    log.warn("{} probe of container {} failed to run", kind, run.id, e);
                } finally {
                    out.set(false);
                }
            });
        }

        private void handle(Prober.Result r) {
            if (run.onHold) {
                return;
            }
            boolean passed = r.passed();
            if (!passed) {
                // One Event per failing streak and wording, as the kubelet's recorder folds repeats of one message.
                int streak = Boolean.FALSE.equals(last) ? streaks.get() : streaks.incrementAndGet();
                say(run, "unhealthy." + kind.toLowerCase(Locale.ROOT) + "." + run.attempt + "." + streak + "."
                        + Integer.toHexString(r.output().strip().hashCode()), "Warning", "Unhealthy", kind + " probe failed: " + r.output());
            }
            if (r.kind() == Prober.Kind.WARNING) {
                say(run, "probewarning." + kind.toLowerCase(Locale.ROOT) + "." + run.attempt, "Warning", "ProbeWarning",
                        kind + " probe warning: " + r.output());
            }
            inARow = Boolean.valueOf(passed).equals(last) ? inARow + 1 : 1;
            last = passed;
            if (inARow < (passed ? probe.successThreshold() : probe.failureThreshold())) {
                return;
            }
            switch (kind) {
                case "Readiness" -> {
                    if (run.readinessPassed != passed) {
                        run.readinessPassed = passed;
                        changed.run();
                    }
                }
                case "Startup" -> {
                    if (passed) {
                        run.started = true;
                        changed.run();
                    } else {
                        kill();
                    }
                }
                default -> {
                    if (!passed) {
                        kill();
                    }
                }
            }
        }

        /** As the kubelet: the container is stopped with the probe's grace period (else the pod's); its policy restarts it. */
        private void kill() {
            run.onHold = true;
            String message = "Container " + run.container.name() + " failed " + kind.toLowerCase(Locale.ROOT) + " probe"
                    + (run.restarts ? ", will be restarted" : "");
            say(run, "killing." + kind.toLowerCase(Locale.ROOT) + "." + run.attempt, "Normal", "Killing", message);
            long grace = probe.terminationGracePeriodSeconds() != null ? probe.terminationGracePeriodSeconds() : run.podGrace;
            try {
                runtime.stop(run.id, (int) grace);
            } catch (RuntimeFailure f) {
                log.warn("cannot stop container {} after its failed {} probe: {}", run.id, kind, f.getMessage());
            }
            changed.run();
        }
    }

    private static ThreadFactory daemon(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    @Override
    public void close() {
        timer.shutdownNow();
        pool.shutdownNow();
    }
}
