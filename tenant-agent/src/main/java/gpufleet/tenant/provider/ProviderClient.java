package gpufleet.tenant.provider;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.core.type.TypeReference;
import gpufleet.common.Json;
import gpufleet.common.api.ApiError;
import gpufleet.common.api.NodeResources;
import gpufleet.common.api.OfferingView;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.common.api.WorkloadView;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

/** The provider's control-api as the tenant-agent uses it, with the tenant's token. */
public final class ProviderClient {
    private static final TypeReference<List<OfferingView>> OFFERINGS = new TypeReference<>() {};
    private static final TypeReference<List<WorkloadView>> WORKLOADS = new TypeReference<>() {};

    private final URI base;
    private final String token;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    public ProviderClient(URI base, String token) {
        this.base = base;
        this.token = token;
    }

    /** The provider answered with an error: its status and its reason. */
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

    /** The tenant this token belongs to. */
    public String tenant() throws IOException, Refused {
        JsonNode me = get("/v1/whoami");
        if (!"tenant".equals(me.path("role").asText())) {
            throw new Refused(403, "the configured token is a " + me.path("role").asText() + " token; the tenant-agent needs a tenant token");
        }
        return me.get("tenant").asText();
    }

    public List<OfferingView> offerings(String tenant) throws IOException, Refused {
        return Json.mapper().convertValue(get("/v1/tenants/" + tenant + "/offerings").get("items"), OFFERINGS);
    }

    public NodeResources node(String tenant) throws IOException, Refused {
        return Json.mapper().treeToValue(get("/v1/tenants/" + tenant + "/node"), NodeResources.class);
    }

    public WorkloadView createWorkload(String tenant, WorkloadSpec spec) throws IOException, Refused {
        return Json.mapper().treeToValue(send("POST", "/v1/tenants/" + tenant + "/workloads", spec), WorkloadView.class);
    }

    /** The workload of a pod, or null when the provider has none. */
    public WorkloadView workload(String tenant, String podUid) throws IOException, Refused {
        try {
            return Json.mapper().treeToValue(get("/v1/tenants/" + tenant + "/workloads/" + podUid), WorkloadView.class);
        } catch (Refused e) {
            if (e.status() == 404) {
                return null;
            }
            throw e;
        }
    }

    public List<WorkloadView> workloads(String tenant) throws IOException, Refused {
        return Json.mapper().convertValue(get("/v1/tenants/" + tenant + "/workloads").get("items"), WORKLOADS);
    }

    /** Asks for deletion; a workload already gone is fine. */
    public void deleteWorkload(String tenant, String podUid) throws IOException, Refused {
        try {
            send("DELETE", "/v1/tenants/" + tenant + "/workloads/" + podUid, null);
        } catch (Refused e) {
            if (e.status() != 404) {
                throw e;
            }
        }
    }

    private JsonNode get(String path) throws IOException, Refused {
        return send("GET", path, null);
    }

    private JsonNode send(String method, String path, Object body) throws IOException, Refused {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(20))
                .header("Authorization", "Bearer " + token);
        if (body != null) {
            b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofByteArray(Json.mapper().writeValueAsBytes(body)));
        } else {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        }
        HttpRequest req = b.build();
        HttpResponse<byte[]> resp;
        try {
            resp = http.send(req, HttpResponse.BodyHandlers.ofByteArray());
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
        return Json.mapper().readTree(resp.body());
    }
}
