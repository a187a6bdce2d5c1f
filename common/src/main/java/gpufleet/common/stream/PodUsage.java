package gpufleet.common.stream;

import java.util.List;

/**
 * What a pod uses right now, as a host-agent reads it from Docker and NVML: cumulative CPU time
 * and memory per container (the kubelet's figures) and the pod's GPUs. The host fills
 * {@code workload}; the control-api adds the pod's identity before a tenant sees it.
 */
public record PodUsage(String workload, String podUid, String namespace, String name, String startTime,
                       List<ContainerUsage> containers, List<GpuUsage> gpus) {

    public PodUsage withPod(String podUid, String namespace, String name) {
        return new PodUsage(workload, podUid, namespace, name, startTime, containers, gpus);
    }

    public record ContainerUsage(String name, String startTime, long cpuUsageCoreNanoSeconds, long cpuUsageNanoCores,
                                 long memoryWorkingSetBytes, long memoryUsageBytes, long memoryRssBytes, String sampledAt) {}

    public record GpuUsage(String uuid, String model, int utilizationPercent, long memoryUsedBytes, long memoryTotalBytes) {}
}
