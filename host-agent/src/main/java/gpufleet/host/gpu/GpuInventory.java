package gpufleet.host.gpu;

import java.time.Duration;

/**
 * The GPUs of this host. The real adapter is NVML ({@code gpufleet.host.nvml}); nothing of it
 * leaks past this interface.
 */
public interface GpuInventory extends AutoCloseable {
    /**
     * Reads every GPU. One GPU's trouble never fails the sweep: that GPU comes back unhealthy
     * with the reason, or is left out with a note.
     *
     * @throws GpuUnavailableException when the library or the driver cannot be used at all
     */
    GpuSnapshot sweep();

    /**
     * Blocks up to {@code timeout} for the next critical health event (an Xid that is not the
     * application's fault, a double-bit ECC error). Returns null when none came. Called from
     * one dedicated thread.
     */
    HealthEvent awaitHealthEvent(Duration timeout);

    @Override
    void close();
}
