package gpufleet.gpuctl;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.common.api.ContainerStatus;
import gpufleet.common.api.WorkloadStatusReport;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.ApiFixture.Host;
import gpufleet.control.support.Http;
import gpufleet.control.support.Pods;
import java.time.Instant;
import java.util.List;

/** A small fleet on a real control-api: what the tests ask gpuctl about, and the host's side of workloads. */
final class Fleet {
    static final String TENANT = "skg00000";
    static final String OFFERING = "seeweb-nvidia-1xa6000";

    final ApiFixture fx;
    final String tenantToken;

    Fleet(ApiFixture fx) {
        this.fx = fx;
        fx.seedOfferings();
        this.tenantToken = fx.tenant(TENANT, List.of(OFFERING, "seeweb-nvidia-2xa6000"));
    }

    /** A tenant's pod, placed by the control-api; returns the workload. */
    JsonNode pod(String uid) {
        Http.Response r = fx.http.post("/v1/tenants/" + TENANT + "/workloads", tenantToken, Pods.seedPod(uid));
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
        return r.json();
    }

    JsonNode workload(String uid) {
        return fx.http.get("/v1/tenants/" + TENANT + "/workloads/" + uid, tenantToken).json();
    }

    /** The host says the workload's container runs. */
    void running(Host host, JsonNode workload, long generation) {
        report(host, workload, new WorkloadStatusReport(generation, List.of(new ContainerStatus("nvidia", "running", null,
                null, null, 0, Instant.now(), null, "c-1", "gpufleet/busybox:test", true, null)), false));
    }

    /** The host confirms the workload's containers are gone. */
    void gone(Host host, JsonNode workload, long generation) {
        report(host, workload, new WorkloadStatusReport(generation, List.of(), true));
    }

    private void report(Host host, JsonNode workload, WorkloadStatusReport report) {
        Http.Response r = fx.http.put("/v1/hosts/" + host.id() + "/workloads/" + workload.get("id").asText() + "/status",
                host.token(), report);
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
    }
}
