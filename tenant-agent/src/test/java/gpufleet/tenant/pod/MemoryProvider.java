package gpufleet.tenant.pod;

import gpufleet.common.api.ContainerStatus;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.common.api.WorkloadView;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A provider in memory, for the pod controller's scenarios: workloads are placed at once and run
 * when the test says so; deletes can be made to fail a number of times.
 */
final class MemoryProvider implements PodProvider {
    final Map<String, WorkloadView> workloads = new ConcurrentHashMap<>();
    final List<String> calls = java.util.Collections.synchronizedList(new ArrayList<>());
    final AtomicInteger deleteFailures = new AtomicInteger();

    @Override
    public WorkloadView create(WorkloadSpec spec) {
        calls.add("create " + spec.podUid());
        return workloads.computeIfAbsent(spec.podUid(), uid -> view(uid, spec.namespace(), spec.name(), "placed", false,
                spec.containers().stream().map(c -> new ContainerStatus(c.name(), "waiting", "ContainerCreating", null, null, 0,
                        null, null, null, c.image(), false, null)).toList()));
    }

    @Override
    public WorkloadView update(WorkloadSpec spec) {
        calls.add("update " + spec.podUid());
        // The host replaces the containers whose image changed: the statuses name the new images.
        return workloads.computeIfPresent(spec.podUid(), (uid, w) -> view(uid, w.namespace(), w.name(), w.phase(), false,
                w.containers().stream().map(c -> new ContainerStatus(c.name(), c.state(), c.reason(), null, null,
                        c.restartCount() + 1, c.startedAt(), null, c.containerId(), spec.containers().stream()
                        .filter(x -> x.name().equals(c.name())).findFirst().orElseThrow().image(), c.ready(), null)).toList()));
    }

    @Override
    public void delete(String podUid) throws IOException {
        calls.add("delete " + podUid);
        if (deleteFailures.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            throw new IOException("provider unreachable (injected)");
        }
        // Stopped and gone at once: this provider has no containers to wait for.
        workloads.remove(podUid);
    }

    @Override
    public WorkloadView get(String podUid) {
        return workloads.get(podUid);
    }

    @Override
    public List<WorkloadView> list() {
        return List.copyOf(workloads.values());
    }

    /** The workload's containers run, as a host reports them. */
    void run(String podUid) {
        WorkloadView w = workloads.get(podUid);
        workloads.put(podUid, view(podUid, w.namespace(), w.name(), "running", false, w.containers().stream()
                .map(c -> new ContainerStatus(c.name(), "running", null, null, null, 0, Instant.now(), null, "docker://" + podUid,
                        c.image(), true, null)).toList()));
    }

    /** A workload the provider has for a pod the cluster never had (or lost while the agent was away). */
    void dangling(String podUid) {
        workloads.put(podUid, view(podUid, "default", "ghost", "running", false, List.of()));
    }

    long count(String call) {
        synchronized (calls) {
            return calls.stream().filter(call::equals).count();
        }
    }

    private static WorkloadView view(String uid, String namespace, String name, String phase, boolean deleting,
                                     List<ContainerStatus> containers) {
        return new WorkloadView(UUID.nameUUIDFromBytes(uid.getBytes()), uid, namespace, name, "seeweb-nvidia-1xa6000", phase, null,
                null, null, Map.of(), containers, deleting, Instant.now());
    }
}
