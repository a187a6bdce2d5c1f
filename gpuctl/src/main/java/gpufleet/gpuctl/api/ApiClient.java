package gpufleet.gpuctl.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import gpufleet.gpuctl.Exit;
import gpufleet.gpuctl.Failure;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.StringJoiner;

/**
 * The control-api as gpuctl calls it: JSON trees in and out with the operator token. An error
 * answer becomes a {@link Failure} carrying the API's own reason and the exit code for its status.
 */
public final class ApiClient {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI server;
    private final String token;
    private final HttpClient http;

    public ApiClient(URI server, String token, Duration connectTimeout) {
        this.server = server;
        this.token = token;
        this.http = HttpClient.newBuilder().connectTimeout(connectTimeout).build();
    }

    public JsonNode get(String path) {
        return send("GET", path, null);
    }

    public JsonNode post(String path, Object body) {
        return send("POST", path, body == null ? Map.of() : body);
    }

    public JsonNode put(String path, Object body) {
        return send("PUT", path, body == null ? Map.of() : body);
    }

    public JsonNode delete(String path) {
        return send("DELETE", path, null);
    }

    /** Every item of a list, following {@code continueAfter} from page to page. */
    public ArrayNode list(String path, Map<String, String> query) {
        ArrayNode all = JSON.createArrayNode();
        Map<String, String> q = new LinkedHashMap<>(query);
        while (true) {
            JsonNode page = get(path + query(q));
            page.path("items").forEach(all::add);
            String next = page.path("continueAfter").asText(null);
            if (next == null) {
                return all;
            }
            q.put("continue", next);
        }
    }

    public static String query(Map<String, String> params) {
        StringJoiner q = new StringJoiner("&", "?", "").setEmptyValue("");
        params.forEach((k, v) -> {
            if (v != null) {
                q.add(k + "=" + encode(v));
            }
        });
        return q.toString();
    }

    /** One path segment, escaped (names and UUIDs never need it, but a typo might). */
    public static String encode(String segment) {
        return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /** {@code path} starts with a slash and is taken relative to the server URL, which may have a path of its own. */
    private JsonNode send(String method, String path, Object body) {
        try {
            HttpRequest.Builder req = HttpRequest.newBuilder(server.resolve(path.substring(1))).timeout(Duration.ofSeconds(30))
                    .header("Authorization", "Bearer " + token).header("Accept", "application/json");
            if (body != null) {
                req.header("Content-Type", "application/json")
                        .method(method, HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)));
            } else {
                req.method(method, HttpRequest.BodyPublishers.noBody());
            }
            HttpResponse<byte[]> resp = http.send(req.build(), HttpResponse.BodyHandlers.ofByteArray());
            if (resp.statusCode() >= 300) {
                throw refused(method, path, resp);
            }
            return resp.body().length == 0 ? JSON.createObjectNode() : JSON.readTree(resp.body());
        } catch (HttpTimeoutException e) {
            throw new Failure(Exit.UNREACHABLE, "the control-api at " + server + " did not answer in time (" + e.getMessage() + ")");
        } catch (ConnectException e) {
            throw new Failure(Exit.UNREACHABLE, "cannot connect to the control-api at " + server + ": "
                    + (e.getMessage() == null ? "connection refused" : e.getMessage()));
        } catch (IOException e) {
            throw new Failure(Exit.UNREACHABLE, "cannot reach the control-api at " + server + ": "
                    + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Failure(Exit.FAILED, "interrupted");
        }
    }

    private static Failure refused(String method, String path, HttpResponse<byte[]> resp) {
        String reason;
        try {
            reason = JSON.readTree(resp.body()).path("message").asText(null);
        } catch (IOException e) {
            reason = null;
        }
        if (reason == null || reason.isBlank()) {
            reason = method + " " + path + " answered " + resp.statusCode();
        }
        int code = switch (resp.statusCode()) {
            case 401, 403 -> Exit.UNAUTHORIZED;
            case 404 -> Exit.NOT_FOUND;
            default -> Exit.FAILED;
        };
        return new Failure(code, reason);
    }
}
