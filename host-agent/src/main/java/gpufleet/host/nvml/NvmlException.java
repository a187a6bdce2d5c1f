package gpufleet.host.nvml;

/** An NVML call that did not return NVML_SUCCESS: the call, the code, and nvmlErrorString's words. */
final class NvmlException extends RuntimeException {
    static final int UNINITIALIZED = 1;
    static final int INVALID_ARGUMENT = 2;
    static final int NOT_SUPPORTED = 3;
    static final int NO_PERMISSION = 4;
    static final int NOT_FOUND = 6;
    static final int INSUFFICIENT_SIZE = 7;
    static final int DRIVER_NOT_LOADED = 9;
    static final int TIMEOUT = 10;
    static final int LIBRARY_NOT_FOUND = 12;
    static final int FUNCTION_NOT_FOUND = 13;
    static final int GPU_IS_LOST = 15;

    private final int code;

    NvmlException(String call, int code, String words) {
        super(call + ": " + words + " (NVML error " + code + ")", null, false, false);
        this.code = code;
    }

    int code() {
        return code;
    }
}
