package gpufleet.control.support;

import gpufleet.common.Quantity;
import gpufleet.common.api.GpuReport;
import gpufleet.common.api.HostCondition;
import gpufleet.common.api.HostResources;
import gpufleet.common.api.InventoryReport;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Inventory reports as a host-agent would send them. */
public final class Inventories {
    public static final String A6000 = "NVIDIA RTX A6000";
    public static final String A100 = "NVIDIA A100-SXM4-80GB";

    private Inventories() {}

    /** The seed's pool: one host with 8 x RTX A6000, cpu 63 and memory 263567056Ki for tenants. */
    public static InventoryReport seedPool(String hostTag, long generation) {
        return report(hostTag, generation, A6000, 8, Quantity.cpuMillis("63", "cpu"),
                Quantity.bytes("263567056Ki", "memory"));
    }

    public static InventoryReport report(String hostTag, long generation, String model, int count,
                                         long allocatableCpuMillis, long allocatableMemoryBytes) {
        List<GpuReport> gpus = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            gpus.add(gpu(hostTag, i, model, true, null));
        }
        return new InventoryReport(generation, "550.127.05", "12.4",
                new HostResources(allocatableCpuMillis + 1000, allocatableMemoryBytes + (4L << 30),
                        allocatableCpuMillis, allocatableMemoryBytes),
                gpus, List.of(new HostCondition("NvmlReady", "True", "NvmlInitialized", null)));
    }

    public static GpuReport gpu(String hostTag, int index, String model, boolean healthy, String reason) {
        return new GpuReport(uuid(hostTag, index), index, model, 48L << 30, 1L << 30,
                String.format("00000000:%02X:00.0", 0x18 + index), index < 4 ? 0 : 1, false, healthy, reason,
                7 * index % 100, 3, 40 + index, 90_000L + index, Map.of());
    }

    public static String uuid(String hostTag, int index) {
        String tag = String.format("%08x", Math.abs(hostTag.hashCode()));
        return String.format("GPU-%s-0000-4000-8000-%012d", tag, index);
    }

    public static InventoryReport withGpus(InventoryReport r, long generation, List<GpuReport> gpus) {
        return new InventoryReport(generation, r.driverVersion(), r.cudaVersion(), r.resources(), gpus, r.conditions());
    }
}
