package gpufleet.control.workload;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.ApiFixture.Host;
import gpufleet.control.support.Http;
import gpufleet.control.support.Pods;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * One tenant, two clusters (two tenant-agents): each agent lists, reads and deletes its own
 * cluster's workloads only; another cluster's pod answers 404 and is left as it was.
 */
class WorkloadClustersIT {
    ApiFixture fx;
    Host host;
    String tenant;

    @BeforeEach
    void start() {
        fx = ApiFixture.start();
        fx.seedOfferings();
        host = fx.seedHost("a6000-01");
        tenant = fx.tenant("skg00000", List.of("seeweb-nvidia-1xa6000"));
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    private Http.Response create(String uid, String cluster) {
        Map<String, Object> pod = Pods.seedPod(uid);
        if (cluster != null) {
            pod.put("cluster", cluster);
        }
        return fx.http.post("/v1/tenants/skg00000/workloads", tenant, pod);
    }

    private List<String> uids(String query) {
        List<String> out = new ArrayList<>();
        fx.http.get("/v1/tenants/skg00000/workloads" + query, tenant).json().get("items").forEach(w -> out.add(w.get("podUid").asText()));
        return out;
    }

    @Test
    void eachClusterSeesAndDeletesOnlyItsOwnWorkloads() {
        assertThat(create("uid-east", "east").status()).isEqualTo(201);
        assertThat(create("uid-west", "west").status()).isEqualTo(201);
        assertThat(create("uid-old", null).status()).as("an agent naming no cluster").isEqualTo(201);

        assertThat(uids("?cluster=east")).containsExactly("uid-east");
        assertThat(uids("?cluster=west")).containsExactly("uid-west");
        assertThat(uids("?cluster=default")).containsExactly("uid-old");
        assertThat(uids("")).as("the tenant's whole view").containsExactlyInAnyOrder("uid-east", "uid-west", "uid-old");

        Http.Response read = fx.http.get("/v1/tenants/skg00000/workloads/uid-west?cluster=east", tenant);
        assertThat(read.status()).isEqualTo(404);
        assertThat(read.message()).isEqualTo("workload for pod uid-west of tenant skg00000 in cluster east not found");
        Http.Response delete = fx.http.delete("/v1/tenants/skg00000/workloads/uid-west?cluster=east", tenant);
        assertThat(delete.status()).isEqualTo(404);
        JsonNode west = fx.http.get("/v1/tenants/skg00000/workloads/uid-west?cluster=west", tenant).json();
        assertThat(west.get("deletionRequested").asBoolean()).as("east's agent changed nothing of west's").isFalse();
        assertThat(west.get("phase").asText()).isEqualTo("placed");

        assertThat(fx.http.delete("/v1/tenants/skg00000/workloads/uid-east?cluster=east", tenant).status()).isEqualTo(202);
        assertThat(fx.http.get("/v1/tenants/skg00000/workloads/uid-east?cluster=east", tenant).json()
                .get("deletionRequested").asBoolean()).isTrue();
    }

    @Test
    void aPodUidOfOneClusterSentByAnotherIsAConflictAndChangesNothing() {
        assertThat(create("uid-east", "east").status()).isEqualTo(201);
        Http.Response again = create("uid-east", "west");
        assertThat(again.status()).isEqualTo(409);
        assertThat(again.message()).isEqualTo("pod uid-east is already a workload of tenant skg00000's cluster east, not of cluster west");
        assertThat(uids("?cluster=west")).isEmpty();
        assertThat(uids("?cluster=east")).containsExactly("uid-east");
    }

    @Test
    void aClusterThatIsNotALabelOrAnUnknownParameterIsRefused() {
        Http.Response bad = fx.http.get("/v1/tenants/skg00000/workloads?cluster=East_1", tenant);
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.message()).startsWith("cluster");
        Http.Response unknown = fx.http.delete("/v1/tenants/skg00000/workloads/uid-x?clusters=east", tenant);
        assertThat(unknown.status()).isEqualTo(400);
        assertThat(unknown.message()).isEqualTo("unknown query parameter 'clusters'; this endpoint takes cluster");
        Http.Response badSpec = create("uid-bad", "East_1");
        assertThat(badSpec.status()).isEqualTo(400);
        assertThat(uids("")).isEmpty();
    }

    @Test
    void anotherTenantsWorkloadIsNotFound() {
        create("uid-east", "east");
        String other = fx.tenant("other0000", List.of("seeweb-nvidia-1xa6000"));
        Http.Response r = fx.http.get("/v1/tenants/other0000/workloads/uid-east?cluster=east", other);
        assertThat(r.status()).isEqualTo(404);
        assertThat(fx.http.delete("/v1/tenants/other0000/workloads/uid-east", other).status()).isEqualTo(404);
        assertThat(fx.http.get("/v1/tenants/skg00000/workloads/uid-east", tenant).json().get("deletionRequested").asBoolean()).isFalse();
    }

    @Test
    void initContainersAndTheClusterSurviveSealingTheirSecrets() {
        Map<String, Object> pod = Pods.seedPod("uid-init");
        pod.put("cluster", "east");
        Map<String, Object> init = Pods.container("fetch", 0, "1", "1Gi");
        init.put("env", List.of(Map.of("name", "TOKEN", "value", "s3cret")));
        pod.put("initContainers", List.of(init));
        assertThat(fx.http.post("/v1/tenants/skg00000/workloads", tenant, pod).status()).isEqualTo(201);

        JsonNode spec = null;
        for (JsonNode w : fx.http.get("/v1/hosts/" + host.id() + "/workloads", host.token()).json().get("workloads")) {
            spec = w.get("spec");
        }
        assertThat(spec.get("cluster").asText()).isEqualTo("east");
        assertThat(spec.at("/initContainers/0/name").asText()).isEqualTo("fetch");
        assertThat(spec.at("/initContainers/0/env/0/value").asText()).as("opened for the host").isEqualTo("s3cret");
    }
}
