package gpufleet.control.support;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.common.Json;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** A plain HTTP client for tests: raw strings in, status and parsed JSON out. */
public final class Http {
    private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final String base;

    public Http(int port) {
        this.base = "http://127.0.0.1:" + port;
    }

    /** A control-api elsewhere (a stand-in server's), at {@code base} ({@code http://host:port}). */
    public Http(URI base) {
        this.base = base.toString().replaceFirst("/$", "");
    }

    public record Response(int status, String body, String contentType, String retryAfter) {
        public JsonNode json() {
            try {
                return Json.mapper().readTree(body);
            } catch (IOException e) {
                throw new AssertionError("response is not JSON: " + body, e);
            }
        }

        public String error() {
            return json().path("error").asText();
        }

        public String message() {
            return json().path("message").asText();
        }

        @Override
        public String toString() {
            return status + " " + body;
        }
    }

    public Response get(String path, String token) {
        return send("GET", path, token, null, null);
    }

    public Response post(String path, String token, Object body) {
        return send("POST", path, token, body, "application/json");
    }

    public Response put(String path, String token, Object body) {
        return send("PUT", path, token, body, "application/json");
    }

    public Response delete(String path, String token) {
        return send("DELETE", path, token, null, null);
    }

    /** Sends {@code body} as-is when it is a String (to test malformed input), else as JSON. */
    public Response send(String method, String path, String token, Object body, String contentType) {
        try {
            String text = body == null ? null : body instanceof String s ? s : Json.mapper().writeValueAsString(body);
            HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30))
                    .method(method, text == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(text));
            if (token != null) {
                req.header("Authorization", "Bearer " + token);
            }
            if (contentType != null) {
                req.header("Content-Type", contentType);
            }
            HttpResponse<String> resp = CLIENT.send(req.build(), HttpResponse.BodyHandlers.ofString());
            return new Response(resp.statusCode(), resp.body(), resp.headers().firstValue("Content-Type").orElse(""),
                    resp.headers().firstValue("Retry-After").orElse(null));
        } catch (IOException e) {
            throw new IllegalStateException(method + " " + path + " failed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
