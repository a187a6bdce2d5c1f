package gpufleet.tenant.kubelet;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * metav1.Status documents, as the kubelet writes them: on the error stream of an exec or attach,
 * and as the body of a refused request. The one place where a failure becomes an HTTP status.
 */
final class Statuses {
    static final ObjectMapper JSON = new ObjectMapper();

    private Statuses() {}

    /** The v4 error stream's document when the command exited 0. */
    static byte[] success() {
        ObjectNode s = base("Success");
        return bytes(s);
    }

    /** The v4 error stream's document when the command exited with {@code code}; kubectl exits with it. */
    static byte[] nonZeroExit(List<String> command, int code) {
        ObjectNode s = base("Failure");
        s.put("message", nonZeroExitMessage(command, code));
        s.put("reason", "NonZeroExitCode");
        s.putObject("details").putArray("causes").addObject().put("reason", "ExitCode").put("message", Integer.toString(code));
        return bytes(s);
    }

    /** The message of a non-zero exit, as the container runtimes word it. */
    static String nonZeroExitMessage(List<String> command, int code) {
        String what = command == null ? "the container's process" : "command " + goList(command);
        return "command terminated with non-zero exit code: error executing " + what + ", exit code " + code;
    }

    /** The v4 error stream's document when the command could not run or the stream broke. */
    static byte[] internalError(String message) {
        ObjectNode s = base("Failure");
        s.put("message", "Internal error occurred: " + message);
        s.put("reason", "InternalError");
        s.putObject("details").putArray("causes").addObject().put("message", message);
        s.put("code", 500);
        return bytes(s);
    }

    /** A refused request: Status JSON with code, reason and the message kubectl shows. */
    static FullHttpResponse response(int code, String message) {
        ObjectNode s = JSON.createObjectNode().put("kind", "Status").put("apiVersion", "v1");
        s.putObject("metadata");
        s.put("status", "Failure").put("message", message).put("reason", reason(code)).put("code", code);
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(code),
                Unpooled.wrappedBuffer(bytes(s)));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes());
        return r;
    }

    /** A failure's HTTP status: the backend's own for a {@link KubeletException}, 500 otherwise. */
    static int code(Throwable failure) {
        return failure instanceof KubeletException k ? k.status() : 500;
    }

    /** What the user reads about a failure. */
    static String message(Throwable failure) {
        if (failure instanceof KubeletException) {
            return failure.getMessage();
        }
        if (failure instanceof IOException) {
            return "the provider could not be reached: " + failure.getMessage();
        }
        return "internal error: " + failure;
    }

    private static String reason(int code) {
        return switch (code) {
            case 400 -> "BadRequest";
            case 401 -> "Unauthorized";
            case 403 -> "Forbidden";
            case 404 -> "NotFound";
            case 405 -> "MethodNotAllowed";
            case 409 -> "Conflict";
            case 429 -> "TooManyRequests";
            case 503 -> "ServiceUnavailable";
            case 504 -> "Timeout";
            default -> "InternalError";
        };
    }

    /** Go's %v of a string slice, which the kubelet's messages carry: [sh -c echo hi]. */
    private static String goList(List<String> items) {
        return "[" + String.join(" ", items) + "]";
    }

    private static ObjectNode base(String status) {
        ObjectNode s = JSON.createObjectNode();
        s.putObject("metadata");
        s.put("status", status);
        return s;
    }

    static byte[] bytes(Object json) {
        try {
            return JSON.writeValueAsBytes(json);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
