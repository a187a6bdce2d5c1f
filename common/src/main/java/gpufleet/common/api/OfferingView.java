package gpufleet.common.api;

import java.util.Map;

/**
 * An offering as a tenant-agent turns it into a RuntimeClass: the numbers, and the annotations
 * the RuntimeClass carries ({@code limits.k8s.gpu/cpu}, {@code limits.k8s.gpu/memory},
 * {@code limits.k8s.gpu/default}).
 */
public record OfferingView(String name, String gpuModel, int gpuCount, String cpu, String memory,
                           Map<String, String> annotations) {

    public static OfferingView of(String name, String gpuModel, int gpuCount, long cpuMillis, String memory) {
        String cpu = cpuMillis + "m";
        return new OfferingView(name, gpuModel, gpuCount, cpu, memory, Map.of(
                "limits.k8s.gpu/cpu", cpu,
                "limits.k8s.gpu/memory", memory,
                "limits.k8s.gpu/default", Integer.toString(gpuCount)));
    }
}
