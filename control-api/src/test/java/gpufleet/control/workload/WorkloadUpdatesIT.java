package gpufleet.control.workload;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.ApiFixture.Host;
import gpufleet.control.support.Http;
import gpufleet.control.support.Pods;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A running pod's spec changes as the API server allows (a container's image, a shorter
 * activeDeadlineSeconds) and its host sees the new spec; any other change is refused naming the
 * field, and changes nothing; another tenant's or another cluster's pod is not found.
 */
class WorkloadUpdatesIT {
    ApiFixture fx;
    Host host;
    String tenant;

    @BeforeEach
    void start() {
        fx = ApiFixture.start();
        fx.seedOfferings();
        host = fx.seedHost("a6000-01");
        tenant = fx.tenant("skg00000", List.of("seeweb-nvidia-1xa6000"));
        Map<String, Object> pod = pod("gpufleet/busybox:test");
        assertThat(fx.http.post("/v1/tenants/skg00000/workloads", tenant, pod).status()).isEqualTo(201);
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    private static Map<String, Object> pod(String image) {
        Map<String, Object> pod = Pods.seedPod("uid-1");
        pod.put("cluster", "east");
        @SuppressWarnings("unchecked")
        Map<String, Object> c = ((List<Map<String, Object>>) pod.get("containers")).get(0);
        c.put("image", image);
        return pod;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> container(Map<String, Object> pod) {
        return ((List<Map<String, Object>>) pod.get("containers")).get(0);
    }

    private Http.Response put(Map<String, Object> pod, String query) {
        return fx.http.put("/v1/tenants/skg00000/workloads/uid-1/spec" + query, tenant, pod);
    }

    private JsonNode desired() {
        return fx.http.get("/v1/hosts/" + host.id() + "/workloads", host.token()).json();
    }

    private JsonNode hostSpec() {
        return desired().get("workloads").get(0).get("spec");
    }

    @Test
    void aNewImageReachesTheHostWithANewVersion() {
        long before = desired().get("version").asLong();
        Http.Response r = put(pod("gpufleet/busybox:v2"), "?cluster=east");
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        assertThat(hostSpec().at("/containers/0/image").asText()).isEqualTo("gpufleet/busybox:v2");
        long after = desired().get("version").asLong();
        assertThat(after).as("the host is woken").isGreaterThan(before);

        assertThat(put(pod("gpufleet/busybox:v2"), "?cluster=east").status()).isEqualTo(200);
        assertThat(desired().get("version").asLong()).as("the same spec again changes nothing").isEqualTo(after);

        Map<String, Object> deadline = pod("gpufleet/busybox:v2");
        deadline.put("activeDeadlineSeconds", 600);
        assertThat(put(deadline, "?cluster=east").status()).isEqualTo(200);
        deadline.put("activeDeadlineSeconds", 900);
        Http.Response longer = put(deadline, "?cluster=east");
        assertThat(longer.status()).isEqualTo(400);
        assertThat(longer.message()).isEqualTo("spec.activeDeadlineSeconds may be set or decreased, not increased (was 600)");
        assertThat(hostSpec().get("activeDeadlineSeconds").asLong()).isEqualTo(600);
    }

    @Test
    void changingResourcesOrCommandIsRefusedNamingTheFieldAndChangesNothing() {
        long before = desired().get("version").asLong();
        Map<String, Object> bigger = pod("gpufleet/busybox:v2");
        container(bigger).put("resources", Map.of("gpus", 1, "cpu", "4", "memory", "16Gi"));
        Http.Response r = put(bigger, "?cluster=east");
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.message()).isEqualTo(SpecUpdates.RULE + "; spec.containers[0].resources.cpu changed");

        Map<String, Object> command = pod("gpufleet/busybox:v2");
        container(command).put("command", List.of("sh", "-c", "id"));
        Http.Response c = put(command, "?cluster=east");
        assertThat(c.status()).isEqualTo(400);
        assertThat(c.message()).isEqualTo(SpecUpdates.RULE + "; spec.containers[0].command changed");

        assertThat(hostSpec().at("/containers/0/image").asText()).as("not even the image").isEqualTo("gpufleet/busybox:test");
        assertThat(hostSpec().at("/containers/0/resources/cpu").asText()).isEqualTo("2");
        assertThat(desired().get("version").asLong()).isEqualTo(before);
    }

    @Test
    void aNewImageWhileItsConfigMapChangedKeepsTheEnvThePodStartedWith() {
        // The agent sends the pod as it resolves it now: the ConfigMap behind MODE changed since the pod was made.
        Map<String, Object> drifted = pod("gpufleet/busybox:v2");
        container(drifted).put("env", List.of(Map.of("name", "MODE", "value", "changed-since")));
        Http.Response r = put(drifted, "?cluster=east");
        assertThat(r.status()).as("refused before: the image never changed while a ConfigMap had " + r).isEqualTo(200);
        assertThat(hostSpec().at("/containers/0/image").asText()).isEqualTo("gpufleet/busybox:v2");
        assertThat(hostSpec().at("/containers/0/env")).as("a running pod keeps the env it started with").isEmpty();
    }

    @Test
    void anotherClustersOrAnotherTenantsPodIsNotFound() {
        Http.Response west = put(pod("gpufleet/busybox:v2"), "?cluster=west");
        assertThat(west.status()).isEqualTo(404);
        assertThat(west.message()).isEqualTo("workload for pod uid-1 of tenant skg00000 in cluster west not found");
        String other = fx.tenant("other0000", List.of("seeweb-nvidia-1xa6000"));
        Http.Response r = fx.http.put("/v1/tenants/other0000/workloads/uid-1/spec", other, pod("gpufleet/busybox:v2"));
        assertThat(r.status()).isEqualTo(404);
        Map<String, Object> moved = pod("gpufleet/busybox:v2");
        moved.put("cluster", "west");
        Http.Response m = put(moved, "");
        assertThat(m.status()).as("a pod cannot move to another cluster").isEqualTo(400);
        assertThat(m.message()).endsWith("; spec.cluster changed");
        Http.Response wrongUid = fx.http.put("/v1/tenants/skg00000/workloads/uid-2/spec", tenant, pod("gpufleet/busybox:v2"));
        assertThat(wrongUid.status()).isEqualTo(400);
        assertThat(hostSpec().at("/containers/0/image").asText()).isEqualTo("gpufleet/busybox:test");
    }

    @Test
    void aPodBeingDeletedNoLongerChanges() {
        fx.http.delete("/v1/tenants/skg00000/workloads/uid-1", tenant);
        Http.Response r = put(pod("gpufleet/busybox:v2"), "");
        assertThat(r.status()).isEqualTo(409);
        assertThat(r.message()).isEqualTo("pod uid-1 has finished or is being deleted: its spec no longer changes");
    }
}
