package gpufleet.common;

/**
 * A value that breaks a rule of the wire contract. Thrown by the wire records' constructors so
 * that a request is rejected before anything acts on it; {@code field} names the offending field.
 */
public final class Invalid extends RuntimeException {
    private final String field;

    public Invalid(String field, String message) {
        super(message, null, false, false);
        this.field = field;
    }

    public String field() {
        return field;
    }

    public static <T> T required(T value, String field) {
        if (value == null) {
            throw new Invalid(field, field + " is required");
        }
        return value;
    }

    public static String requiredText(String value, String field, int maxLength) {
        required(value, field);
        if (value.isBlank()) {
            throw new Invalid(field, field + " must not be empty");
        }
        if (value.length() > maxLength) {
            throw new Invalid(field, field + " is longer than " + maxLength + " characters");
        }
        return value;
    }

    public static long atLeast(Long value, long min, String field) {
        required(value, field);
        if (value < min) {
            throw new Invalid(field, field + " must be at least " + min + ", got " + value);
        }
        return value;
    }

    public static void check(boolean ok, String field, String message) {
        if (!ok) {
            throw new Invalid(field, message);
        }
    }
}
