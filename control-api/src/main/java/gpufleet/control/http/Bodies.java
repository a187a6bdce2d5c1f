package gpufleet.control.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import gpufleet.common.Invalid;
import gpufleet.common.Json;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.InputStream;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Reads request bodies: JSON only, bounded in size, strictly typed. Every way a body can be wrong
 * becomes an {@link ApiException} that names the field, before any handler acts on it.
 */
public final class Bodies {
    private final long maxBytes;

    public Bodies(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    public <T> T read(Context ctx, Class<T> type) {
        String contentType = ctx.contentType();
        if (contentType == null || !contentType.toLowerCase(Locale.ROOT).startsWith("application/json")) {
            throw new ApiException(ErrorKind.UNSUPPORTED_MEDIA_TYPE,
                    "request body must be application/json, got " + (contentType == null ? "no Content-Type" : "'" + contentType + "'"));
        }
        byte[] body = bounded(ctx);
        if (body.length == 0) {
            throw new ApiException(ErrorKind.INVALID, "request body is empty; expected a JSON object");
        }
        try {
            T value = Json.mapper().readValue(body, type);
            if (value == null) {
                throw new ApiException(ErrorKind.INVALID, "request body is null; expected a JSON object");
            }
            return value;
        } catch (IOException e) {
            throw translate(e);
        }
    }

    private byte[] bounded(Context ctx) {
        long declared = ctx.req().getContentLengthLong();
        if (declared > maxBytes) {
            throw tooLarge(declared);
        }
        try (InputStream in = ctx.req().getInputStream()) {
            byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBytes + 1));
            if (bytes.length > maxBytes) {
                throw tooLarge(-1);
            }
            return bytes;
        } catch (IOException e) {
            throw new ApiException(ErrorKind.INVALID, "could not read request body: " + e.getMessage());
        }
    }

    private ApiException tooLarge(long declared) {
        return new ApiException(ErrorKind.TOO_LARGE, "request body "
                + (declared > 0 ? "of " + declared + " bytes " : "") + "exceeds the limit of " + maxBytes + " bytes");
    }

    /** Turns Jackson's view of a bad body into the reason and field a person can act on. */
    static ApiException translate(IOException e) {
        if (e instanceof ValueInstantiationException vie && vie.getCause() instanceof Invalid invalid) {
            String field = join(path(vie), invalid.field());
            return new ApiException(ErrorKind.INVALID, prefixed(path(vie), invalid.getMessage()), field);
        }
        if (e instanceof ValueInstantiationException vie) {
            // A constructor failed for another reason than a rule (a number too large to hold, say):
            // name the field and the problem, never the class behind it.
            String field = path(vie);
            String problem = vie.getCause() instanceof ArithmeticException ? "value out of range"
                    : vie.getCause() != null && vie.getCause().getMessage() != null ? withoutClassNames(vie.getCause().getMessage())
                    : "invalid value";
            return new ApiException(ErrorKind.INVALID, prefixed(field, problem), field.isEmpty() ? null : field);
        }
        if (e instanceof UnrecognizedPropertyException upe) {
            String field = path(upe);
            return new ApiException(ErrorKind.INVALID, "unknown field '" + field + "'", field);
        }
        if (e instanceof InvalidFormatException ife) {
            String field = path(ife);
            return new ApiException(ErrorKind.INVALID, field + ": '" + ife.getValue() + "' is not a valid "
                    + simpleType(ife.getTargetType()), field);
        }
        if (e instanceof MismatchedInputException mie && !mie.getPath().isEmpty()) {
            String field = path(mie);
            return new ApiException(ErrorKind.INVALID, field + ": wrong type, expected "
                    + simpleType(mie.getTargetType()), field);
        }
        if (e instanceof JsonMappingException jme && !jme.getPath().isEmpty()) {
            String field = path(jme);
            return new ApiException(ErrorKind.INVALID, field + ": " + withoutClassNames(jme.getOriginalMessage()), field);
        }
        String detail = withoutClassNames(e instanceof JsonProcessingException jpe ? jpe.getOriginalMessage() : e.getMessage());
        String where = e instanceof JsonProcessingException jpe && jpe.getLocation() != null
                ? " at line " + jpe.getLocation().getLineNr() + ", column " + jpe.getLocation().getColumnNr() : "";
        return new ApiException(ErrorKind.INVALID, "malformed JSON" + where + ": " + firstLine(detail));
    }

    private static String path(JsonMappingException e) {
        StringBuilder sb = new StringBuilder();
        for (JsonMappingException.Reference ref : e.getPath()) {
            if (ref.getFieldName() != null) {
                if (sb.length() > 0) {
                    sb.append('.');
                }
                sb.append(ref.getFieldName());
            } else if (ref.getIndex() >= 0) {
                sb.append('[').append(ref.getIndex()).append(']');
            }
        }
        return sb.toString();
    }

    private static String join(String prefix, String field) {
        if (prefix.isEmpty()) {
            return field;
        }
        return field == null ? prefix : prefix + "." + field;
    }

    private static String prefixed(String prefix, String message) {
        return prefix.isEmpty() ? message : prefix + ": " + message;
    }

    private static String simpleType(Class<?> type) {
        if (type == null) {
            return "value";
        }
        if (Number.class.isAssignableFrom(type) || type.isPrimitive() && type != boolean.class) {
            return "a number";
        }
        if (type == Boolean.class || type == boolean.class) {
            return "true or false";
        }
        if (type == String.class) {
            return "a string";
        }
        if (java.util.Collection.class.isAssignableFrom(type)) {
            return "a list";
        }
        return "an object";
    }

    private static final Pattern CLASS_NAME = Pattern.compile("`?\\b(?:[a-z][a-z0-9_]*\\.)+([A-Z][A-Za-z0-9_]*\\$)*[A-Z][A-Za-z0-9_]*`?");

    /** Jackson's messages name Java classes ("`gpufleet.common.api.WorkloadSpec$Resources`"); callers need none. */
    static String withoutClassNames(String message) {
        return message == null ? null : CLASS_NAME.matcher(message).replaceAll("value");
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "unreadable";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
