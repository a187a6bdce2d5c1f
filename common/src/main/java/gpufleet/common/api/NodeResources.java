package gpufleet.common.api;

import java.util.Map;

/** The virtual node's capacity and allocatable as Kubernetes quantities (cpu, memory, nvidia.com/gpu, pods). */
public record NodeResources(Map<String, String> capacity, Map<String, String> allocatable) {}
