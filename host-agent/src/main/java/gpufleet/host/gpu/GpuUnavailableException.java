package gpufleet.host.gpu;

/**
 * The GPUs cannot be read at all: the library is missing, the driver is not loaded. {@code reason}
 * is a CamelCase word for a host condition (e.g. DriverNotLoaded), the message is NVML's own.
 */
public final class GpuUnavailableException extends RuntimeException {
    private final String reason;

    public GpuUnavailableException(String reason, String message) {
        super(message);
        this.reason = reason;
    }

    public String reason() {
        return reason;
    }
}
