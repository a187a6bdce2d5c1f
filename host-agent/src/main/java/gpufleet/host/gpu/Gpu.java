package gpufleet.host.gpu;

import java.util.List;
import java.util.Map;

/**
 * One GPU as the agent last read it. Keyed by UUID. A field the GPU does not support is null,
 * never an invented zero.
 */
public record Gpu(
        String uuid,
        int index,
        String name,
        String serial,
        String pciBusId,
        long memoryTotalBytes,
        Long memoryUsedBytes,
        Long memoryFreeBytes,
        Integer utilizationGpu,
        Integer utilizationMemory,
        Integer temperatureC,
        Long powerMilliwatts,
        Long powerLimitMilliwatts,
        Long energyMillijoules,
        Boolean eccEnabled,
        Long eccUncorrectedVolatile,
        Long eccUncorrectedAggregate,
        Integer remappedRowsUncorrectable,
        Boolean migEnabled,
        List<String> migDevices,
        Integer numaNode,
        Map<String, String> topology,
        List<GpuProcess> processes,
        boolean healthy,
        String healthReason) {

    /** A process using the GPU, as NVML lists compute processes. */
    public record GpuProcess(long pid, Long usedMemoryBytes) {}

    public Gpu unhealthy(String reason) {
        return new Gpu(uuid, index, name, serial, pciBusId, memoryTotalBytes, memoryUsedBytes, memoryFreeBytes,
                utilizationGpu, utilizationMemory, temperatureC, powerMilliwatts, powerLimitMilliwatts, energyMillijoules,
                eccEnabled, eccUncorrectedVolatile, eccUncorrectedAggregate, remappedRowsUncorrectable, migEnabled,
                migDevices, numaNode, topology, processes, false, reason);
    }
}
