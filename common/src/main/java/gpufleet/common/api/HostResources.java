package gpufleet.common.api;

import gpufleet.common.Invalid;

/** A host's cpu (millicores) and memory (bytes): what it has, and what tenants may use. */
public record HostResources(Long cpuMillis, Long memoryBytes, Long allocatableCpuMillis, Long allocatableMemoryBytes) {
    public HostResources {
        Invalid.atLeast(cpuMillis, 0, "cpuMillis");
        Invalid.atLeast(memoryBytes, 0, "memoryBytes");
        Invalid.atLeast(allocatableCpuMillis, 0, "allocatableCpuMillis");
        Invalid.atLeast(allocatableMemoryBytes, 0, "allocatableMemoryBytes");
        Invalid.check(allocatableCpuMillis <= cpuMillis, "allocatableCpuMillis",
                "allocatableCpuMillis " + allocatableCpuMillis + " exceeds cpuMillis " + cpuMillis);
        Invalid.check(allocatableMemoryBytes <= memoryBytes, "allocatableMemoryBytes",
                "allocatableMemoryBytes " + allocatableMemoryBytes + " exceeds memoryBytes " + memoryBytes);
    }
}
