package gpufleet.host.workload;

import gpufleet.common.api.ContainerStatus;
import gpufleet.common.api.HostWorkload;
import gpufleet.common.api.Probe;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.host.runtime.ContainerRuntime;
import gpufleet.host.runtime.Observed;
import gpufleet.host.runtime.RuntimeFailure;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stops a pod's running containers as the kubelet does, under one grace period for the whole pod:
 * the app containers first, all at once, then the sidecars one by one in the reverse of their start
 * order (Kubernetes 1.29+ stops them after the containers they serve), each with what is left of
 * the grace period. Each container's preStop runs before its SIGTERM, and its time counts
 * against the grace period; a preStop that outlasts it is cut off, and the container then gets
 * the kubelet's two seconds more before SIGKILL, so no hook holds a pod past its grace period.
 */
final class PodStopper {
    private static final Logger log = LoggerFactory.getLogger(PodStopper.class);
    /** The kubelet's minimumGracePeriodInSeconds, given to a container whose preStop used up the grace. */
    static final int MIN_GRACE_SECONDS = 2;

    private final ContainerRuntime runtime;
    private final LifecycleHooks hooks;
    private final ExecutorService side;

    PodStopper(ContainerRuntime runtime, LifecycleHooks hooks, ExecutorService side) {
        this.runtime = runtime;
        this.hooks = hooks;
        this.side = side;
    }

    /**
     * Stops {@code running} (containers of pod {@code w}; null when its spec is unknown: no hooks,
     * no order) within {@code graceSeconds}. Returns a FailedPreStopHook event for each container
     * whose preStop failed, by container name.
     */
    Map<String, ContainerStatus.Event> stop(HostWorkload w, List<Observed> running, int graceSeconds) throws RuntimeFailure {
        long deadline = System.nanoTime() + Duration.ofSeconds(graceSeconds).toNanos();
        List<String> sidecars = w == null ? List.of() : w.spec().sidecars().stream().map(WorkloadSpec.Container::name).toList();
        Supplier<String> podIp = () -> w == null ? null : running.stream().map(o -> o.addresses().get(TenantNetworks.name(w.tenant())))
                .filter(a -> a != null).findFirst().orElse(null);
        Map<String, ContainerStatus.Event> failed = new ConcurrentHashMap<>();
        all(w, running.stream().filter(o -> !sidecars.contains(o.label(Labels.CONTAINER))).toList(), deadline, podIp, failed);
        // Sidecars one at a time, the last started first: each may still serve those started after it.
        for (int i = sidecars.size() - 1; i >= 0; i--) {
            String name = sidecars.get(i);
            all(w, running.stream().filter(o -> name.equals(o.label(Labels.CONTAINER))).toList(), deadline, podIp, failed);
        }
        return failed;
    }

    private void all(HostWorkload w, List<Observed> group, long deadline, Supplier<String> podIp,
                     Map<String, ContainerStatus.Event> failed) throws RuntimeFailure {
        List<CompletableFuture<Void>> stops = group.stream().map(o -> CompletableFuture.runAsync(() -> {
            try {
                one(w, o, deadline, podIp, failed);
            } catch (RuntimeFailure f) {
                throw new CompletionException(f);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CompletionException(new RuntimeFailure("KillContainerError", "interrupted"));
            }
        }, side)).toList();
        try {
            CompletableFuture.allOf(stops.toArray(CompletableFuture[]::new)).join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeFailure f ? f : new RuntimeFailure("KillContainerError", e.getMessage());
        }
    }

    private void one(HostWorkload w, Observed o, long deadline, Supplier<String> podIp, Map<String, ContainerStatus.Event> failed)
            throws RuntimeFailure, InterruptedException {
        WorkloadSpec.Container c = w == null ? null : w.spec().allContainers().stream()
                .filter(x -> x.name().equals(o.label(Labels.CONTAINER))).findFirst().orElse(null);
        Probe.Handler preStop = c == null || c.lifecycle() == null ? null : c.lifecycle().preStop();
        if (preStop != null) {
            String failure = hooks.run(preStop, w, c, o.id(), podIp, Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
            if (failure != null) {
                failed.put(c.name(), new ContainerStatus.Event("prestop." + o.id(), "Warning", "FailedPreStopHook",
                        failure.length() > 1024 ? failure.substring(0, 1024) : failure));
            }
        }
        int grace = (int) Math.max(0, (deadline - System.nanoTime() + 999_999_999L) / 1_000_000_000L); // rounded up, as asked
        runtime.stop(o.id(), preStop != null ? Math.max(grace, MIN_GRACE_SECONDS) : grace);
    }

    /** A Job-like pod whose app containers all ended: its sidecars are stopped, as Kubernetes does once they serve nothing. */
    void stopSidecars(HostWorkload w, List<Observed> mine) {
        Set<String> sidecars = w.spec().sidecars().stream().map(WorkloadSpec.Container::name).collect(Collectors.toSet());
        List<Observed> running = mine.stream().filter(o -> sidecars.contains(o.label(Labels.CONTAINER)) && o.state().equals("running"))
                .toList();
        if (running.isEmpty()) {
            return;
        }
        try {
            stop(w, running, w.spec().terminationGracePeriodSeconds().intValue());
        } catch (RuntimeFailure f) {
            log.warn("sidecars of workload {} not stopped yet: {}", w.id(), f.getMessage());
        }
    }

    /** How each container's latest run ended, read once they are all stopped: a deleted pod never reads as running. */
    List<ContainerStatus> lastStatuses(List<Observed> mine) throws RuntimeFailure {
        Map<String, Observed> latest = new TreeMap<>();
        for (Observed o : mine) {
            String name = o.label(Labels.CONTAINER);
            if (name != null && !Labels.PAUSE.equals(name) && (latest.get(name) == null
                    || PodRunner.attempt(latest.get(name)) < PodRunner.attempt(o))) {
                latest.put(name, o);
            }
        }
        List<ContainerStatus> out = new ArrayList<>();
        for (Observed o : latest.values()) {
            Observed now = runtime.inspect(o.id()).orElse(o);
            ContainerStatus.Terminated end = PodRunner.ended(now);
            out.add(new ContainerStatus(o.label(Labels.CONTAINER), "terminated", end.reason(), end.message(), end.exitCode(),
                    PodRunner.attempt(o), end.startedAt(), end.finishedAt(), end.containerId(), o.image(), false, null));
        }
        return out;
    }
}
