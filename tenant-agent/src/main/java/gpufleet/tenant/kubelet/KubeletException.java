package gpufleet.tenant.kubelet;

/** A failure the kubelet API answers with {@code status} and a message for the user (kubectl prints it). */
public final class KubeletException extends RuntimeException {
    private final int status;

    public KubeletException(int status, String message) {
        super(message);
        this.status = status;
    }

    public int status() {
        return status;
    }
}
