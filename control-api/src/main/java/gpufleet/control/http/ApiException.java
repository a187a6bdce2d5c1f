package gpufleet.control.http;

/** An error meant for the caller: a kind, the reason in words, and the field at fault if any. */
public final class ApiException extends RuntimeException {
    private final ErrorKind kind;
    private final String field;

    public ApiException(ErrorKind kind, String message, String field) {
        super(message, null, false, false);
        this.kind = kind;
        this.field = field;
    }

    public ApiException(ErrorKind kind, String message) {
        this(kind, message, null);
    }

    public ErrorKind kind() {
        return kind;
    }

    public String field() {
        return field;
    }

    public static ApiException notFound(String what) {
        return new ApiException(ErrorKind.NOT_FOUND, what + " not found");
    }

    public static ApiException invalid(String field, String message) {
        return new ApiException(ErrorKind.INVALID, message, field);
    }
}
