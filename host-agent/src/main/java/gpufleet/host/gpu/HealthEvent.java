package gpufleet.host.gpu;

/** Something NVML reported about a GPU's health: the GPU (by UUID), the Xid if any, and why it is unhealthy. */
public record HealthEvent(String uuid, Long xid, String reason) {}
