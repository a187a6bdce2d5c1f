package gpufleet.gpuctl;

/** The exit codes scripts can rely on (docs/gpuctl.md lists them). */
public final class Exit {
    public static final int OK = 0;
    /** The API refused the request, or the operation failed. */
    public static final int FAILED = 1;
    /** A bad command line: unknown flag, missing argument, flag that does not apply. */
    public static final int USAGE = 2;
    /** The host, GPU, workload, tenant or token does not exist. */
    public static final int NOT_FOUND = 3;
    /** No token, a token the API does not accept, or one without the operator role. */
    public static final int UNAUTHORIZED = 4;
    /** A wait (drain) ran past its --timeout. */
    public static final int TIMEOUT = 5;
    /** The control-api could not be reached. */
    public static final int UNREACHABLE = 6;

    private Exit() {}
}
