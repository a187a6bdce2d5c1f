package gpufleet.control.http;

import static org.assertj.core.api.Assertions.assertThat;

import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Http;
import gpufleet.control.support.Pods;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What a tenant learns from the API's answers, refusals included: nothing of another tenant's
 * objects (not even that they exist) and none of the hosts' private addresses.
 */
class TenantErrorsIT {
    /** The host's private address, where it publishes pods' ports. */
    static final String PRIVATE = "10.77.0.5";
    static final String THEIR_POD = "their-pod-1";
    static final String THEIR_SERVICE = "0d0d0d0d-0000-4000-8000-00000000000d";

    static ApiFixture fx;
    static String mine;
    static String theirs;
    static ApiFixture.Host host;

    @BeforeAll
    static void start() {
        fx = ApiFixture.start();
        fx.seedOfferings();
        host = fx.seedHost("gpu-private-07");
        mine = fx.tenant("acme", List.of("seeweb-nvidia-1xa6000"));
        theirs = fx.tenant("globex", List.of("seeweb-nvidia-1xa6000"));
        // The host's registered address: the only one where it may publish pods' ports.
        Http.Response address = fx.http.put("/v1/hosts/" + host.id() + "/address", ApiFixture.OPERATOR, Map.of("address", PRIVATE));
        assertThat(address.status()).as(address.toString()).isEqualTo(200);
        running("acme", mine, "my-pod-1");
        running("globex", theirs, THEIR_POD);
        Http.Response route = fx.http.put("/v1/tenants/globex/routes/" + THEIR_SERVICE, theirs, Map.of("namespace", "default",
                "name", "web", "port", 80, "targets", List.of(Map.of("podUid", THEIR_POD, "port", 8080))));
        assertThat(route.status()).as(route.toString()).isEqualTo(200);
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    /** A placed pod that the host reports running, with its port 8080 published on the private address. */
    static void running(String tenant, String token, String podUid) {
        Http.Response created = fx.http.post("/v1/tenants/" + tenant + "/workloads", token, Pods.seedPod(podUid));
        assertThat(created.status()).as(created.toString()).isEqualTo(201);
        Http.Response reported = fx.http.put("/v1/hosts/" + host.id() + "/workloads/" + created.json().get("id").asText() + "/status",
                host.token(), Map.of("generation", 1,
                        "containers", List.of(Map.of("name", "nvidia", "state", "running", "ready", true)),
                        "ports", Map.of("8080", PRIVATE + ":31080")));
        assertThat(reported.status()).as(reported.toString()).isEqualTo(200);
    }

    @Test
    void anotherTenantsObjectOnMyPathIsNotFoundInTheWordsOfOneThatNeverExisted() {
        for (String method : List.of("GET", "DELETE")) {
            Http.Response their = fx.http.send(method, "/v1/tenants/acme/workloads/" + THEIR_POD, mine, null, null);
            Http.Response none = fx.http.send(method, "/v1/tenants/acme/workloads/never-was-1", mine, null, null);
            assertThat(their.status()).as(method + " their workload: " + their).isEqualTo(404);
            assertThat(their.body().replace(THEIR_POD, "X")).as(method).isEqualTo(none.body().replace("never-was-1", "X"));
            assertThat(their.body()).doesNotContain("globex");
        }
        Http.Response their = fx.http.get("/v1/tenants/acme/routes/" + THEIR_SERVICE, mine);
        Http.Response none = fx.http.get("/v1/tenants/acme/routes/0e0e0e0e-0000-4000-8000-00000000000e", mine);
        assertThat(their.status()).as(their.toString()).isEqualTo(404);
        assertThat(their.body().replace(THEIR_SERVICE, "X")).isEqualTo(none.body().replace("0e0e0e0e-0000-4000-8000-00000000000e", "X"));
        assertThat(fx.http.get("/v1/tenants/globex/workloads/" + THEIR_POD, theirs).status())
                .as("the pod is there for its own tenant").isEqualTo(200);
    }

    @Test
    void anotherTenantsPathIsRefusedTheSameWayWhetherThatTenantExistsOrNot() {
        for (String path : List.of("/workloads", "/workloads/" + THEIR_POD, "/routes", "/node", "/offerings")) {
            Http.Response existing = fx.http.get("/v1/tenants/globex" + path, mine);
            Http.Response missing = fx.http.get("/v1/tenants/initech" + path, mine);
            assertThat(existing.status()).as(path + ": " + existing).isEqualTo(403);
            assertThat(existing.body().replace("globex", "X")).as(path).isEqualTo(missing.body().replace("initech", "X"));
            assertThat(existing.body()).doesNotContain(THEIR_POD);
        }
    }

    @Test
    void nothingATenantReadsHoldsAHostsPrivateAddress() {
        List<String> paths = List.of("/v1/tenants/acme/workloads", "/v1/tenants/acme/workloads/my-pod-1", "/v1/tenants/acme/node",
                "/v1/tenants/acme/offerings", "/v1/tenants/acme/routes", "/v1/whoami", "/v1/tenants/acme/workloads/nobody",
                "/v1/hosts", "/v1/hosts/" + host.id(), "/v1/routes");
        for (String path : paths) {
            Http.Response r = fx.http.get(path, mine);
            assertThat(r.status()).as(path + ": " + r).isLessThan(500);
            assertThat(r.body()).as(path).doesNotContain(PRIVATE).doesNotContain("globex").doesNotContain(THEIR_POD);
        }
        Http.Response route = fx.http.put("/v1/tenants/acme/routes/0a0a0a0a-0000-4000-8000-00000000000a", mine, Map.of(
                "namespace", "default", "name", "web", "port", 80, "targets", List.of(Map.of("podUid", "my-pod-1", "port", 8080))));
        assertThat(route.status()).as(route.toString()).isEqualTo(200);
        assertThat(route.json().get("readyTargets").asInt()).isEqualTo(1);
        assertThat(route.body()).as("a route with a ready target on the host").doesNotContain(PRIVATE);
    }

    @Test
    void aStreamWhoseHostCannotBeReachedNamesNeitherTheHostNorItsAddress() {
        // The host's registered address, where nothing answers: the control-api's dial fails.
        Http.Response reported = fx.http.put("/v1/hosts/" + host.id() + "/streams", host.token(),
                Map.of("address", PRIVATE + ":10350", "key", "k".repeat(43), "certificate", gpufleet.control.support.StreamCertificates.A));
        assertThat(reported.status()).as(reported.toString()).isLessThan(300);
        Http.Response logs = fx.http.get("/v1/tenants/acme/workloads/my-pod-1/logs?container=nvidia", mine);
        assertThat(logs.status()).as(logs.toString()).isEqualTo(503);
        assertThat(logs.body()).as("what the tenant reads").contains("default/nvidia-smi").doesNotContain(PRIVATE).doesNotContain("gpu-private-07");
    }
}
