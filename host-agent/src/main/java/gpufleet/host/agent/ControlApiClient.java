package gpufleet.host.agent;

import gpufleet.common.api.HostDesired;
import gpufleet.common.api.HostRegistration;
import gpufleet.common.api.InventoryReport;
import gpufleet.common.api.RegisteredHost;
import gpufleet.common.api.ReportResult;
import gpufleet.common.api.StreamEndpoint;
import gpufleet.common.api.WorkloadEviction;
import gpufleet.common.api.WorkloadStatusReport;
import gpufleet.common.http.JsonClient.Refused;
import gpufleet.common.http.JsonClient;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;

/** The control-api's host API, as the agent calls it. */
public final class ControlApiClient {
    /** Long enough for a long poll (up to 60 s) to answer. */
    /** Long enough for a long poll (up to a minute) to be answered. */
    private final JsonClient http;
    /**
     * Heartbeats on connections of their own, each given 10 s: one that hangs (a replica killed
     * under it, a half-open connection) must fail long before the cut-off, so the next beat tries
     * a new connection. With the long poll's 75 s, one hung beat outlived the 40 s cut-off of the
     * fault tests and the host fenced itself with the control-api back.
     */
    private final JsonClient beats;

    public ControlApiClient(URI base) {
        this.http = new JsonClient(base, Duration.ofSeconds(75));
        this.beats = new JsonClient(base, HEARTBEAT_TIMEOUT);
    }

    static final Duration HEARTBEAT_TIMEOUT = Duration.ofSeconds(10);

    public RegisteredHost register(String name, String joinToken) throws IOException, Refused {
        return http.send("POST", "/v1/hosts/register", joinToken, new HostRegistration(name), RegisteredHost.class);
    }

    public void heartbeat(RegisteredHost host) throws IOException, Refused {
        beats.send("POST", "/v1/hosts/" + host.hostId() + "/heartbeat", host.token(), null, Void.class);
    }

    public ReportResult report(RegisteredHost host, InventoryReport report) throws IOException, Refused {
        return http.send("PUT", "/v1/hosts/" + host.hostId() + "/inventory", host.token(), report, ReportResult.class);
    }

    /** The host's desired workloads; with a known version, waits up to {@code waitSeconds} for a change. */
    public HostDesired desired(RegisteredHost host, Long version, int waitSeconds) throws IOException, Refused {
        String q = version == null ? "" : "?version=" + version + "&waitSeconds=" + waitSeconds;
        return http.send("GET", "/v1/hosts/" + host.hostId() + "/workloads" + q, host.token(), null, HostDesired.class);
    }

    public ReportResult workloadStatus(RegisteredHost host, UUID workload, WorkloadStatusReport report) throws IOException, Refused {
        return http.send("PUT", "/v1/hosts/" + host.hostId() + "/workloads/" + workload + "/status", host.token(), report,
                ReportResult.class);
    }

    /** Evicts one of this host's workloads (its pod fails with reason Evicted and is deleted). */
    public void evict(RegisteredHost host, UUID workload, String message) throws IOException, Refused {
        end(host, workload, "Evicted", message);
    }

    /** Ends one of this host's workloads: its pod fails with {@code reason} (Evicted, DeadlineExceeded) and is deleted. */
    public void end(RegisteredHost host, UUID workload, String reason, String message) throws IOException, Refused {
        http.send("POST", "/v1/hosts/" + host.hostId() + "/workloads/" + workload + "/eviction", host.token(),
                new WorkloadEviction(message, reason), Map.class);
    }

    /** Tells the control-api where this agent serves streams and the key its tickets are signed with. */
    public void streams(RegisteredHost host, StreamEndpoint endpoint) throws IOException, Refused {
        http.send("PUT", "/v1/hosts/" + host.hostId() + "/streams", host.token(), endpoint, Void.class);
    }
}
