package gpufleet.tenant.provider;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.common.Json;
import gpufleet.common.api.NodeResources;
import gpufleet.common.api.OfferingView;
import gpufleet.common.api.RouteSpec;
import gpufleet.common.api.RouteView;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.common.api.WorkloadView;
import gpufleet.common.http.JsonClient;
import gpufleet.common.http.JsonClient.Refused;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.List;

/** The provider's control-api as the tenant-agent uses it, with the tenant's token. */
public final class ProviderClient {
    private static final TypeReference<List<OfferingView>> OFFERINGS = new TypeReference<>() {};
    private static final TypeReference<List<WorkloadView>> WORKLOADS = new TypeReference<>() {};
    private static final TypeReference<List<RouteView>> ROUTES = new TypeReference<>() {};

    private final JsonClient http;
    private final String token;
    /** The last workload list read, with its path and ETag: an unchanged list is answered 304 and not parsed again. */
    private volatile Listed listed;

    private record Listed(String path, String etag, List<WorkloadView> items) {}

    public ProviderClient(URI base, String token) {
        this.http = new JsonClient(base, Duration.ofSeconds(20));
        this.token = token;
    }

    /** The tenant this token belongs to. */
    public String tenant() throws IOException, Refused {
        JsonNode me = http.tree("GET", "/v1/whoami", token, null);
        if (!"tenant".equals(me.path("role").asText())) {
            throw new Refused(403, "the configured token is a " + me.path("role").asText() + " token; the tenant-agent needs a tenant token");
        }
        return me.get("tenant").asText();
    }

    public List<OfferingView> offerings(String tenant) throws IOException, Refused {
        return Json.mapper().convertValue(http.tree("GET", "/v1/tenants/" + tenant + "/offerings", token, null).get("items"), OFFERINGS);
    }

    public NodeResources node(String tenant) throws IOException, Refused {
        return http.send("GET", "/v1/tenants/" + tenant + "/node?include=waiting", token, null, NodeResources.class);
    }

    public WorkloadView createWorkload(String tenant, WorkloadSpec spec) throws IOException, Refused {
        return http.send("POST", "/v1/tenants/" + tenant + "/workloads", token, spec, WorkloadView.class);
    }

    /** Replaces a running pod's spec (only its images and activeDeadlineSeconds may differ) in the tenant's cluster {@code cluster}. */
    public WorkloadView updateWorkload(String tenant, WorkloadSpec spec, String cluster) throws IOException, Refused {
        return http.send("PUT", "/v1/tenants/" + tenant + "/workloads/" + spec.podUid() + "/spec" + in(cluster), token, spec,
                WorkloadView.class);
    }

    /** The workload of a pod, or null when the provider has none. */
    public WorkloadView workload(String tenant, String podUid) throws IOException, Refused {
        return workload(tenant, podUid, null);
    }

    /** The workload of a pod in the tenant's cluster {@code cluster} (null: any), or null when the provider has none there. */
    public WorkloadView workload(String tenant, String podUid, String cluster) throws IOException, Refused {
        try {
            return http.send("GET", "/v1/tenants/" + tenant + "/workloads/" + podUid + in(cluster), token, null, WorkloadView.class);
        } catch (Refused e) {
            if (e.status() == 404) {
                return null;
            }
            throw e;
        }
    }

    public List<WorkloadView> workloads(String tenant) throws IOException, Refused {
        return workloads(tenant, null);
    }

    /**
     * The workloads of the tenant's cluster {@code cluster}; null: of all its clusters. The list is
     * not to be modified: while the provider says it is unchanged, the same list is returned again.
     */
    public List<WorkloadView> workloads(String tenant, String cluster) throws IOException, Refused {
        String path = "/v1/tenants/" + tenant + "/workloads" + in(cluster);
        Listed last = listed;
        boolean same = last != null && last.path().equals(path);
        JsonClient.Tagged answer = http.getIfChanged(path, token, same ? last.etag() : null);
        if (answer.body() == null) {
            return last.items(); // 304: only ever answered to the tag sent, which was this path's
        }
        List<WorkloadView> items = List.copyOf(Json.mapper().convertValue(Json.mapper().readTree(answer.body()).get("items"), WORKLOADS));
        listed = answer.etag() == null ? null : new Listed(path, answer.etag(), items);
        return items;
    }

    /** Asks for deletion; a workload already gone is fine. */
    public void deleteWorkload(String tenant, String podUid) throws IOException, Refused {
        deleteWorkload(tenant, podUid, null);
    }

    /** Asks for deletion of a workload of the tenant's cluster {@code cluster} (null: any); one already gone is fine. */
    public void deleteWorkload(String tenant, String podUid, String cluster) throws IOException, Refused {
        try {
            http.send("DELETE", "/v1/tenants/" + tenant + "/workloads/" + podUid + in(cluster), token, null, Void.class);
        } catch (Refused e) {
            if (e.status() != 404) {
                throw e;
            }
        }
    }

    /** The query naming a cluster (a DNS label: nothing to escape), or nothing. */
    private static String in(String cluster) {
        return cluster == null ? "" : "?cluster=" + cluster;
    }

    /**
     * Publishes (or updates) a LoadBalancer Service's route as the tenant's cluster {@code cluster}'s
     * (null: {@code default}); returns it with its public name.
     */
    public RouteView putRoute(String tenant, String serviceUid, RouteSpec spec, String cluster) throws IOException, Refused {
        return http.send("PUT", "/v1/tenants/" + tenant + "/routes/" + serviceUid + in(cluster), token, spec, RouteView.class);
    }

    /** The routes of the tenant's cluster {@code cluster}; null: of all its clusters. */
    public List<RouteView> routes(String tenant, String cluster) throws IOException, Refused {
        return Json.mapper().convertValue(http.tree("GET", "/v1/tenants/" + tenant + "/routes" + in(cluster), token, null).get("items"),
                ROUTES);
    }

    /** Removes a route of the tenant's cluster {@code cluster} (null: any); one already gone is fine. */
    public void deleteRoute(String tenant, String serviceUid, String cluster) throws IOException, Refused {
        try {
            http.send("DELETE", "/v1/tenants/" + tenant + "/routes/" + serviceUid + in(cluster), token, null, Void.class);
        } catch (Refused e) {
            if (e.status() != 404) {
                throw e;
            }
        }
    }
}
