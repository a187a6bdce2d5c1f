package gpufleet.common.api;

import gpufleet.common.Invalid;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A host's full inventory. {@code generation} grows with every change the agent sees; the
 * control-api never lets an older generation overwrite a newer one.
 */
public record InventoryReport(
        Long generation,
        String driverVersion,
        String cudaVersion,
        HostResources resources,
        List<GpuReport> gpus,
        List<HostCondition> conditions) {

    public static final int MAX_GPUS = 64;

    public InventoryReport {
        Invalid.atLeast(generation, 1, "generation");
        Invalid.required(resources, "resources");
        gpus = gpus == null ? List.of() : List.copyOf(gpus);
        conditions = conditions == null ? List.of() : List.copyOf(conditions);
        Invalid.check(gpus.size() <= MAX_GPUS, "gpus", "a host reports at most " + MAX_GPUS + " GPUs, got " + gpus.size());
        Set<String> seen = new HashSet<>();
        for (GpuReport gpu : gpus) {
            Invalid.check(seen.add(gpu.uuid()), "gpus", "gpu " + gpu.uuid() + " is listed twice");
        }
    }
}
