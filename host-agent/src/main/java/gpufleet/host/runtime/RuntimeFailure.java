package gpufleet.host.runtime;

/**
 * The engine refused: a Kubernetes-style reason (ErrImagePull, CreateContainerError,
 * RunContainerError, …) and the engine's own message.
 */
public final class RuntimeFailure extends Exception {
    private final String reason;

    public RuntimeFailure(String reason, String message) {
        super(message, null, false, false);
        this.reason = reason;
    }

    public String reason() {
        return reason;
    }
}
