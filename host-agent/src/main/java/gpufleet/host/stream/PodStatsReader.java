package gpufleet.host.stream;

import gpufleet.common.Json;
import gpufleet.common.stream.PodUsage;
import gpufleet.host.gpu.Gpu;
import gpufleet.host.runtime.Observed;
import gpufleet.host.runtime.RuntimeFailure;
import gpufleet.common.stream.Frames;
import gpufleet.host.workload.HostContainers;
import gpufleet.host.workload.Labels;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reads what pods use, for the kubelet's /stats/summary: each running container's cumulative CPU
 * time and memory from its cgroup, the CPU rate from the previous sample of the same container,
 * and the pod's GPUs from the last NVML sweep.
 */
public final class PodStatsReader {
    private final HostContainers containers;
    private final DockerSocket docker;
    private final GpuLookup gpus;
    /** Last sample per container id: cumulative CPU nanoseconds and when, for the rate. */
    private final Map<String, long[]> lastCpu = new ConcurrentHashMap<>();

    /** The GPUs a workload holds, and their latest telemetry. */
    public interface GpuLookup {
        List<String> gpusOf(String workload);

        Map<String, Gpu> telemetry();
    }

    PodStatsReader(HostContainers containers, DockerSocket docker, GpuLookup gpus) {
        this.containers = containers;
        this.docker = docker;
        this.gpus = gpus;
    }

    void serve(List<String> workloads, Conversation c) throws IOException, RuntimeFailure {
        long stale = System.nanoTime() - java.util.concurrent.TimeUnit.HOURS.toNanos(1);
        lastCpu.values().removeIf(sample -> sample[1] < stale); // Containers long gone.
        // One listing for the whole request, grouped by workload (a scrape asks for every pod at once).
        Map<String, List<Observed>> byWorkload = new java.util.HashMap<>();
        for (Observed o : containers.list()) {
            String w = Labels.workload(o);
            if (w != null) {
                byWorkload.computeIfAbsent(w, k -> new ArrayList<>()).add(o);
            }
        }
        List<PodUsage> usage = new ArrayList<>();
        for (String w : workloads == null ? List.<String>of() : workloads) {
            usage.add(read(w, byWorkload.getOrDefault(w, List.of())));
        }
        c.ok();
        byte[] json = Json.mapper().writeValueAsBytes(usage);
        c.send(Frames.STDOUT, json, 0, json.length);
        c.end(Map.of());
    }

    private PodUsage read(String workload, List<Observed> mine) throws IOException {
        List<PodUsage.ContainerUsage> containers = new ArrayList<>();
        Instant podStart = null;
        for (Observed o : mine) {
            if (Labels.PAUSE.equals(o.label(Labels.CONTAINER))) {
                podStart = o.startedAt();
                continue;
            }
            if (!"running".equals(o.state())) {
                continue;
            }
            containers.add(container(o));
        }
        List<PodUsage.GpuUsage> held = new ArrayList<>();
        Map<String, Gpu> telemetry = gpus.telemetry();
        for (String uuid : gpus.gpusOf(workload)) {
            Gpu g = telemetry.get(uuid);
            if (g != null) {
                held.add(new PodUsage.GpuUsage(uuid, g.name(), g.utilizationGpu() == null ? 0 : g.utilizationGpu(),
                        g.memoryUsedBytes() == null ? 0 : g.memoryUsedBytes(), g.memoryTotalBytes()));
            }
        }
        return new PodUsage(workload, null, null, null, podStart == null ? null : podStart.toString(), containers, held);
    }

    private PodUsage.ContainerUsage container(Observed o) throws IOException {
        long pid = docker.json("GET", "/containers/" + o.id() + "/json", null).path("State").path("Pid").asLong();
        CgroupUsage u = CgroupUsage.ofProcess(pid);
        long now = System.nanoTime();
        long[] prev = lastCpu.put(o.id(), new long[] {u.cpuNanos(), now});
        long nanoCores = prev == null || now <= prev[1] ? 0 : Math.max(0, (u.cpuNanos() - prev[0]) * 1_000_000_000L / (now - prev[1]));
        String read = Instant.now().toString();
        String name = o.label(Labels.CONTAINER);
        return new PodUsage.ContainerUsage(name, o.startedAt() == null ? null : o.startedAt().toString(), u.cpuNanos(), nanoCores,
                u.workingSet(), u.memoryUsage(), u.rss(), read);
    }
}
