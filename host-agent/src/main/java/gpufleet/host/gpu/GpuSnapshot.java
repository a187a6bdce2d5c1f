package gpufleet.host.gpu;

import java.util.List;

/**
 * The result of one sweep over the host's GPUs. {@code notes} says what could not be read and
 * why (a device skipped for lack of permission, say) so that nothing is dropped silently.
 */
public record GpuSnapshot(String driverVersion, String cudaVersion, List<Gpu> gpus, List<String> notes) {}
