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
        return of(name, gpuModel, gpuCount, cpuMillis, memory, null);
    }

    /** {@code ephemeralStorage}: the offering's per-pod disk bound, shown as {@code limits.k8s.gpu/ephemeral-storage}; null for none. */
    public static OfferingView of(String name, String gpuModel, int gpuCount, long cpuMillis, String memory, String ephemeralStorage) {
        return of(name, gpuModel, gpuCount, cpuMillis, memory, ephemeralStorage, null);
    }

    /** {@code shmSize}: the /dev/shm its pods get by default, shown as {@code limits.k8s.gpu/shm-size}; null for none. */
    public static OfferingView of(String name, String gpuModel, int gpuCount, long cpuMillis, String memory, String ephemeralStorage,
                                  String shmSize) {
        String cpu = cpuMillis + "m";
        Map<String, String> annotations = new java.util.TreeMap<>(Map.of(
                "limits.k8s.gpu/cpu", cpu,
                "limits.k8s.gpu/memory", memory,
                "limits.k8s.gpu/default", Integer.toString(gpuCount)));
        if (ephemeralStorage != null) {
            annotations.put("limits.k8s.gpu/ephemeral-storage", ephemeralStorage);
        }
        if (shmSize != null) {
            annotations.put("limits.k8s.gpu/shm-size", shmSize);
        }
        return new OfferingView(name, gpuModel, gpuCount, cpu, memory, Map.copyOf(annotations));
    }
}
