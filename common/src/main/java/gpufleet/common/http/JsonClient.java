package gpufleet.common.http;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.common.Json;
import gpufleet.common.api.ApiError;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.UUID;

/**
 * The agents' way of calling the control-api: JSON in and out with a bearer token. A transport
 * failure is an {@link IOException} (retry later); an answer of 3xx or more is {@link Refused}
 * with the API's own reason. Each request carries an {@code X-Request-Id} of its own, which the
 * control-api writes in its access log; a refusal keeps it, so an agent's complaint can be found
 * there.
 */
public final class JsonClient {
    private final URI base;
    private final Duration timeout;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    public JsonClient(URI base, Duration timeout) {
        this.base = base;
        this.timeout = timeout;
    }

    /** The control-api answered with an error: its status and its reason. */
    public static final class Refused extends Exception {
        private final int status;
        private final String requestId;

        public Refused(int status, String message) {
            this(status, message, null);
        }

        Refused(int status, String message, String requestId) {
            super(message, null, false, false);
            this.status = status;
            this.requestId = requestId;
        }

        public int status() {
            return status;
        }

        /** The X-Request-Id the refused request carried; null when it was not sent by this client. */
        public String requestId() {
            return requestId;
        }
    }

    /**
     * What a log line says of a failed call: the exception's message, and for a refusal the request
     * id the control-api logged it under. Events and conditions keep the bare message, which
     * Kubernetes groups repeated events by.
     */
    public static String reason(Exception e) {
        String message = e.getMessage() == null ? e.toString() : e.getMessage();
        return e instanceof Refused r && r.requestId != null ? message + " [request " + r.requestId + "]" : message;
    }

    /** Sends {@code body} (or nothing) and reads the answer as {@code answer}; null for an empty answer or Void. */
    public <T> T send(String method, String path, String token, Object body, Class<T> answer) throws IOException, Refused {
        byte[] bytes = exchange(method, path, token, body);
        return answer == Void.class || bytes.length == 0 ? null : Json.mapper().readValue(bytes, answer);
    }

    public JsonNode tree(String method, String path, String token, Object body) throws IOException, Refused {
        return Json.mapper().readTree(exchange(method, path, token, body, null).body());
    }

    /** A GET's answer: its body, or null when the server said it is unchanged (304); and its ETag. */
    public record Tagged(byte[] body, String etag) {}

    /** A GET that sends {@code etag} (null: none) in If-None-Match, so an unchanged answer comes without its body. */
    public Tagged getIfChanged(String path, String token, String etag) throws IOException, Refused {
        HttpResponse<byte[]> resp = exchange("GET", path, token, null, etag);
        return new Tagged(resp.statusCode() == 304 ? null : resp.body(), resp.headers().firstValue("ETag").orElse(null));
    }

    private byte[] exchange(String method, String path, String token, Object body) throws IOException, Refused {
        return exchange(method, path, token, body, null).body();
    }

    private HttpResponse<byte[]> exchange(String method, String path, String token, Object body, String etag)
            throws IOException, Refused {
        String requestId = UUID.randomUUID().toString();
        HttpRequest.Builder req = HttpRequest.newBuilder(base.resolve(path)).timeout(timeout)
                .header("Authorization", "Bearer " + token).header("X-Request-Id", requestId);
        if (etag != null) {
            req.header("If-None-Match", etag);
        }
        if (body != null) {
            req.header("Content-Type", "application/json")
                    .method(method, HttpRequest.BodyPublishers.ofByteArray(Json.mapper().writeValueAsBytes(body)));
        } else if (method.equals("GET")) {
            req.GET();
        } else {
            req.method(method, HttpRequest.BodyPublishers.noBody());
        }
        HttpResponse<byte[]> resp;
        try {
            resp = http.send(req.build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        if (resp.statusCode() >= 300 && !(etag != null && resp.statusCode() == 304)) {
            String reason;
            try {
                reason = Json.mapper().readValue(resp.body(), ApiError.class).message();
            } catch (IOException e) {
                reason = new String(resp.body(), StandardCharsets.UTF_8);
            }
            throw new Refused(resp.statusCode(), method + " " + path + ": " + resp.statusCode() + " " + reason, requestId);
        }
        return resp;
    }
}
