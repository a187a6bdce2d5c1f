package gpufleet.gpuctl;

/** Why a command failed, in words for the operator, and the exit code that says so to a script. */
public final class Failure extends RuntimeException {
    private final int exitCode;

    public Failure(int exitCode, String message) {
        super(message, null, false, false);
        this.exitCode = exitCode;
    }

    public int exitCode() {
        return exitCode;
    }

    public static Failure usage(String message) {
        return new Failure(Exit.USAGE, message);
    }
}
