package gpufleet.host;

import gpufleet.common.Json;
import gpufleet.host.gpu.Gpu;
import gpufleet.host.gpu.GpuSnapshot;
import gpufleet.host.gpu.GpuUnavailableException;
import gpufleet.host.nvml.NvmlGpuInventory;
import java.io.PrintStream;
import java.util.Locale;

/** {@code host-agent inventory [--json]}: the GPUs on this box, the way an operator checks a host. */
final class InventoryCommand {
    private InventoryCommand() {}

    static int run(String library, boolean json, PrintStream out, PrintStream err) {
        GpuSnapshot snapshot;
        try (NvmlGpuInventory nvml = new NvmlGpuInventory(library)) {
            snapshot = nvml.sweep();
        } catch (GpuUnavailableException e) {
            err.println("host-agent: NVML unavailable (" + e.reason() + "): " + e.getMessage());
            return 1;
        }
        if (json) {
            try {
                out.println(Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(snapshot));
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
            return 0;
        }
        out.printf("Driver %s, CUDA %s, %d GPU(s)%n", dash(snapshot.driverVersion()), dash(snapshot.cudaVersion()), snapshot.gpus().size());
        String format = "%-5s %-40s %-24s %-16s %-9s %5s %5s %8s %4s  %s%n";
        out.printf(format, "INDEX", "UUID", "NAME", "PCI BUS ID", "MEMORY", "UTIL", "TEMP", "POWER", "NUMA", "HEALTH");
        for (Gpu g : snapshot.gpus()) {
            out.printf(format, g.index(), g.uuid(), g.name(), dash(g.pciBusId()),
                    String.format(Locale.ROOT, "%.1fGiB", g.memoryTotalBytes() / (double) (1L << 30)),
                    g.utilizationGpu() == null ? "-" : g.utilizationGpu() + "%",
                    g.temperatureC() == null ? "-" : g.temperatureC() + "C",
                    g.powerMilliwatts() == null ? "-" : String.format(Locale.ROOT, "%.0fW", g.powerMilliwatts() / 1000.0),
                    g.numaNode() == null ? "-" : g.numaNode().toString(),
                    g.healthy() ? "ok" : "UNHEALTHY: " + g.healthReason());
        }
        snapshot.notes().forEach(n -> out.println("note: " + n));
        return 0;
    }

    private static String dash(Object o) {
        return o == null ? "-" : o.toString();
    }
}
