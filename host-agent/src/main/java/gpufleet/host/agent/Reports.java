package gpufleet.host.agent;

import gpufleet.common.api.GpuReport;
import gpufleet.common.api.HostCondition;
import gpufleet.common.api.HostResources;
import gpufleet.common.api.InventoryReport;
import gpufleet.host.gpu.Gpu;
import gpufleet.host.gpu.GpuSnapshot;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** Turns what the agent read into the wire report, and tells real changes from telemetry drift. */
final class Reports {
    private Reports() {}

    static InventoryReport build(long generation, GpuSnapshot snapshot, List<HostCondition> conditions,
                                 long cpuMillis, long memoryBytes, long reservedCpuMillis, long reservedMemoryBytes) {
        List<GpuReport> gpus = new ArrayList<>();
        if (snapshot != null) {
            for (Gpu g : snapshot.gpus()) {
                gpus.add(new GpuReport(g.uuid(), g.index(), g.name(), g.memoryTotalBytes(), g.memoryUsedBytes(),
                        g.pciBusId(), g.numaNode(), g.migEnabled(), g.healthy(), g.healthReason(), g.utilizationGpu(),
                        g.utilizationMemory(), g.temperatureC(), g.powerMilliwatts(), g.topology()));
            }
        }
        HostResources resources = new HostResources(cpuMillis, memoryBytes,
                Math.max(0, cpuMillis - reservedCpuMillis), Math.max(0, memoryBytes - reservedMemoryBytes));
        return new InventoryReport(generation, snapshot == null ? null : snapshot.driverVersion(),
                snapshot == null ? null : snapshot.cudaVersion(), resources, gpus, conditions);
    }

    /** What placement depends on: the GPUs, their health, the host's conditions and size. */
    static Object structure(InventoryReport r) {
        List<Object> gpus = new ArrayList<>();
        for (GpuReport g : r.gpus()) {
            gpus.add(List.of(g.uuid(), g.index(), g.name(), g.memoryTotalBytes(), Objects.toString(g.pciBusId()),
                    Objects.toString(g.numaNode()), Objects.toString(g.migEnabled()), g.healthy(),
                    Objects.toString(g.healthReason()), g.topology()));
        }
        return List.of(gpus, r.conditions(), r.resources(), Objects.toString(r.driverVersion()), Objects.toString(r.cudaVersion()));
    }

    /** Everything but the generation: telemetry included. */
    static Object content(InventoryReport r) {
        return List.of(r.gpus(), r.conditions(), r.resources(), Objects.toString(r.driverVersion()), Objects.toString(r.cudaVersion()));
    }
}
