package gpufleet.common.api;

import gpufleet.common.Invalid;
import java.util.Map;

/**
 * One GPU as NVML sees it. Keyed by UUID, never by index. Telemetry fields a GPU does not
 * support are absent (null). {@code topology} maps another GPU's UUID to the NVML common
 * ancestor level (e.g. "NVLINK", "SINGLE", "MULTIPLE", "HOSTBRIDGE", "NODE", "SYSTEM").
 */
public record GpuReport(
        String uuid,
        Integer index,
        String name,
        Long memoryTotalBytes,
        Long memoryUsedBytes,
        String pciBusId,
        Integer numaNode,
        Boolean migEnabled,
        Boolean healthy,
        String healthReason,
        Integer utilizationGpu,
        Integer utilizationMemory,
        Integer temperatureC,
        Long powerMilliwatts,
        Map<String, String> topology) {

    public GpuReport {
        Invalid.requiredText(uuid, "uuid", 96);
        Invalid.check(uuid.startsWith("GPU-") || uuid.startsWith("MIG-"), "uuid",
                "uuid '" + uuid + "' is not an NVML UUID (GPU-… or MIG-…)");
        Invalid.atLeast(index == null ? null : index.longValue(), 0, "index");
        Invalid.requiredText(name, "name", 96);
        Invalid.atLeast(memoryTotalBytes, 0, "memoryTotalBytes");
        Invalid.required(healthy, "healthy");
        Invalid.check(healthy || (healthReason != null && !healthReason.isBlank()), "healthReason",
                "an unhealthy GPU needs a healthReason");
        percent(utilizationGpu, "utilizationGpu");
        percent(utilizationMemory, "utilizationMemory");
        topology = topology == null ? Map.of() : Map.copyOf(topology);
    }

    private static void percent(Integer value, String field) {
        Invalid.check(value == null || (value >= 0 && value <= 100), field, field + " must be 0..100, got " + value);
    }
}
