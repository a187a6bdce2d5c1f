package gpufleet.host.agent;

import gpufleet.common.Json;
import gpufleet.common.api.ApiError;
import gpufleet.common.api.HostRegistration;
import gpufleet.common.api.InventoryReport;
import gpufleet.common.api.RegisteredHost;
import gpufleet.common.api.ReportResult;
import gpufleet.common.api.HostDesired;
import gpufleet.common.api.WorkloadStatusReport;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** The control-api's host API, as the agent calls it. */
public final class ControlApiClient {
    private final URI base;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    public ControlApiClient(URI base) {
        this.base = base;
    }

    /** The control-api answered with an error: its status and its reason. */
    public static final class Refused extends Exception {
        private final int status;

        Refused(int status, String message) {
            super(message, null, false, false);
            this.status = status;
        }

        public int status() {
            return status;
        }
    }

    public RegisteredHost register(String name, String joinToken) throws IOException, Refused {
        return send("POST", "/v1/hosts/register", joinToken, new HostRegistration(name), RegisteredHost.class);
    }

    public void heartbeat(RegisteredHost host) throws IOException, Refused {
        send("POST", "/v1/hosts/" + host.hostId() + "/heartbeat", host.token(), null, Void.class);
    }

    public ReportResult report(RegisteredHost host, InventoryReport report) throws IOException, Refused {
        return send("PUT", "/v1/hosts/" + host.hostId() + "/inventory", host.token(), report, ReportResult.class);
    }

    /** The host's desired workloads; with a known version, waits up to {@code waitSeconds} for a change. */
    public HostDesired desired(RegisteredHost host, Long version, int waitSeconds) throws IOException, Refused {
        String q = version == null ? "" : "?version=" + version + "&waitSeconds=" + waitSeconds;
        return send("GET", "/v1/hosts/" + host.hostId() + "/workloads" + q, host.token(), null, HostDesired.class);
    }

    public ReportResult workloadStatus(RegisteredHost host, java.util.UUID workload, WorkloadStatusReport report)
            throws IOException, Refused {
        return send("PUT", "/v1/hosts/" + host.hostId() + "/workloads/" + workload + "/status", host.token(), report,
                ReportResult.class);
    }

    private <T> T send(String method, String path, String token, Object body, Class<T> answer) throws IOException, Refused {
        HttpRequest.Builder req = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(75))
                .header("Authorization", "Bearer " + token);
        if (body == null && method.equals("GET")) {
            req.GET();
        } else if (body == null) {
            req.method(method, HttpRequest.BodyPublishers.noBody());
        } else {
            req.header("Content-Type", "application/json")
                    .method(method, HttpRequest.BodyPublishers.ofByteArray(Json.mapper().writeValueAsBytes(body)));
        }
        HttpResponse<byte[]> resp;
        try {
            resp = http.send(req.build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        if (resp.statusCode() >= 300) {
            String reason;
            try {
                reason = Json.mapper().readValue(resp.body(), ApiError.class).message();
            } catch (IOException e) {
                reason = new String(resp.body(), java.nio.charset.StandardCharsets.UTF_8);
            }
            throw new Refused(resp.statusCode(), method + " " + path + ": " + resp.statusCode() + " " + reason);
        }
        return answer == Void.class || resp.body().length == 0 ? null : Json.mapper().readValue(resp.body(), answer);
    }
}
