package gpufleet.control.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.common.Json;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.ApiFixture.Host;
import gpufleet.control.support.Fingerprint;
import gpufleet.control.support.Http;
import gpufleet.control.support.Inventories;
import gpufleet.control.support.Pods;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Every kind of bad input gets a 4xx with the one error shape and a reason, and changes nothing. */
class BadInputIT {
    static ApiFixture fx;
    static Host host;
    static Host other;
    static String tenantA;
    Map<String, String> fingerprint;

    @BeforeAll
    static void start() {
        fx = ApiFixture.start(Map.of("GPUFLEET_MAX_BODY_BYTES", "4096"));
        host = fx.seedHost("bad-input");
        other = fx.seedHost("bystander");
        fx.seedOfferings();
        tenantA = fx.tenant("tenant-a", List.of("seeweb-nvidia-1xa6000"));
        fx.tenant("tenant-b", List.of("seeweb-nvidia-1xa100"));
        // A placed workload, its events and a route, so that a refused request touching them shows.
        Http.Response pod = fx.http.post("/v1/tenants/tenant-a/workloads", tenantA, Pods.seedPod("uid-seed"));
        assertThat(pod.status()).as(pod.toString()).isEqualTo(201);
        Http.Response route = fx.http.put("/v1/tenants/tenant-a/routes/3b1f2c4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f", tenantA, Map.of("namespace", "default",
                "name", "web", "port", 80, "targets", List.of(Map.of("podUid", "uid-seed", "port", 8080))));
        assertThat(route.status()).as(route.toString()).isIn(200, 201);
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    @BeforeEach
    void remember() throws Exception {
        fingerprint = fingerprint();
    }

    @AfterEach
    void nothingChanged() throws Exception {
        assertThat(fingerprint()).as("database changed by a refused request").isEqualTo(fingerprint);
    }

    private static Map<String, String> fingerprint() throws Exception {
        return Fingerprint.of(fx);
    }

    private static void refused(Http.Response r, int status, String kind, String reasonContains, String field) {
        assertThat(r.status()).as(r.toString()).isEqualTo(status);
        JsonNode j = r.json();
        assertThat(j.get("error").asText()).isEqualTo(kind);
        assertThat(j.get("message").asText()).contains(reasonContains);
        if (field != null) {
            assertThat(j.get("field").asText()).isEqualTo(field);
        }
    }

    private static Http.Response putInventory(String body) {
        return fx.http.send("PUT", "/v1/hosts/" + host.id() + "/inventory", host.token(), body, "application/json");
    }

    @Test
    void malformedJson() throws Exception {
        refused(putInventory("{\"generation\": 9, "), 400, "invalid", "malformed JSON", null);
        refused(putInventory("not json"), 400, "invalid", "malformed JSON", null);
        refused(putInventory(""), 400, "invalid", "empty", null);
        // A complete, valid report with more after it: refused whole, neither stored nor cut short at the first object.
        Http.Response trailing = putInventory(Json.mapper().writeValueAsString(Inventories.seedPool("bad-input", 9)) + " {}");
        refused(trailing, 400, "invalid", "Trailing token (of type START_OBJECT) found after value", null);
        assertThat(trailing.message()).startsWith("malformed JSON at line 1, column ");
    }

    @Test
    void missingFieldsAreNamed() {
        refused(putInventory("{\"generation\": 9}"), 400, "invalid", "resources is required", "resources");
        refused(putInventory("{\"resources\": {\"cpuMillis\": 1, \"memoryBytes\": 1, \"allocatableCpuMillis\": 1, \"allocatableMemoryBytes\": 1}}"),
                400, "invalid", "generation is required", "generation");
        refused(putInventory("""
                {"generation": 9, "resources": {"cpuMillis": 1, "memoryBytes": 1, "allocatableCpuMillis": 1, "allocatableMemoryBytes": 1},
                 "gpus": [{"uuid": "GPU-1", "index": 0, "memoryTotalBytes": 1, "healthy": true}]}"""),
                400, "invalid", "name is required", "gpus[0].name");
    }

    @Test
    void wrongTypesAreNamed() {
        refused(putInventory("{\"generation\": \"nine\"}"), 400, "invalid", "generation", "generation");
        refused(putInventory("{\"generation\": 9, \"gpus\": {}}"), 400, "invalid", "gpus", "gpus");
        refused(fx.http.send("POST", "/v1/tenants", ApiFixture.OPERATOR, "{\"name\": 42}", "application/json"),
                400, "invalid", "name", "name");
    }

    @Test
    void unknownFieldsAreRefused() {
        refused(fx.http.post("/v1/tenants", ApiFixture.OPERATOR, Map.of("name", "x", "admin", true)),
                400, "invalid", "unknown field 'admin'", "admin");
    }

    @Test
    void rulesOfTheContract() {
        refused(fx.http.post("/v1/tenants", ApiFixture.OPERATOR, Map.of("name", "Not_Valid")),
                400, "invalid", "lowercase", "name");
        refused(fx.http.post("/v1/offerings", ApiFixture.OPERATOR,
                        Map.of("name", "x1", "gpuModel", "m", "gpuCount", 1, "cpu", "eight", "memory", "1Gi")),
                400, "invalid", "'eight' is not a quantity", "cpu");
        refused(fx.http.post("/v1/offerings", ApiFixture.OPERATOR,
                        Map.of("name", "x1", "gpuModel", "m", "gpuCount", 0, "cpu", "1", "memory", "1Gi")),
                400, "invalid", "gpuCount must be at least 1", "gpuCount");
        refused(fx.http.post("/v1/tenants", ApiFixture.OPERATOR, Map.of("name", "c", "offerings", List.of("nope"))),
                400, "invalid", "offering nope does not exist", "offerings[0]");
        refused(fx.http.post("/v1/join-tokens", ApiFixture.OPERATOR, Map.of("ttl", "90d")),
                400, "invalid", "not a duration", "ttl");
        refused(fx.http.post("/v1/tenants", ApiFixture.OPERATOR, Map.of("name", "tenant-a")),
                409, "conflict", "already exists", "name");
        refused(putInventory("""
                {"generation": 9, "resources": {"cpuMillis": 1, "memoryBytes": 1, "allocatableCpuMillis": 2, "allocatableMemoryBytes": 1}}"""),
                400, "invalid", "exceeds cpuMillis", "resources.allocatableCpuMillis");
    }

    @Test
    void workloadsAndRoutesThatBreakTheRulesChangeNothing() throws Exception {
        String tenantC = fx.tenant("tenant-c", List.of());
        fingerprint = fingerprint();
        refused(fx.http.post("/v1/tenants/tenant-a/workloads", tenantA, Pods.pod("uid-big", "big", "seeweb-nvidia-1xa6000",
                        List.of(Pods.container("main", 2, "1", "1Gi")))),
                400, "invalid", "asks for 2 GPU(s), 1 cpu and 1Gi memory; offering seeweb-nvidia-1xa6000 allows 1 to 1 GPU(s)", null);
        refused(fx.http.post("/v1/tenants/tenant-a/workloads", tenantA, Pods.pod("uid-other", "nvidia-smi", "seeweb-nvidia-1xa100",
                        List.of(Pods.container("nvidia", 1, "2", "16Gi")))),
                400, "invalid", "offering seeweb-nvidia-1xa100 is not available to tenant tenant-a", null);
        refused(fx.http.put("/v1/tenants/tenant-a/routes/3b1f2c4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f", tenantA, Map.of("namespace", "default", "name", "web", "port", 0)),
                400, "invalid", "port must be 1..65535", "port");
        refused(fx.http.delete("/v1/tenants/tenant-a/workloads/uid-seed", tenantC), 403, "forbidden", "cannot", null);
        refused(fx.http.delete("/v1/tenants/tenant-a/routes/3b1f2c4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f", host.token()), 403, "forbidden", "this is a host token", null);
    }

    @Test
    void oversizedBodies() {
        String big = "{\"name\": \"" + "a".repeat(5000) + "\"}";
        refused(fx.http.send("POST", "/v1/tenants", ApiFixture.OPERATOR, big, "application/json"),
                413, "too_large", "exceeds the limit of 4096 bytes", null);
    }

    @Test
    void wrongContentType() {
        refused(fx.http.send("POST", "/v1/tenants", ApiFixture.OPERATOR, "name=x", "application/x-www-form-urlencoded"),
                415, "unsupported_media_type", "application/json", null);
    }

    @Test
    void unknownIdsAndPaths() {
        refused(fx.http.get("/v1/hosts/no-such-host", ApiFixture.OPERATOR), 404, "not_found", "host no-such-host not found", null);
        refused(fx.http.get("/v1/tenants/nobody", ApiFixture.OPERATOR), 404, "not_found", "tenant nobody not found", null);
        refused(fx.http.delete("/v1/tokens/00000000-0000-0000-0000-000000000000", ApiFixture.OPERATOR), 404, "not_found", "not found", null);
        refused(fx.http.delete("/v1/tokens/abc", ApiFixture.OPERATOR), 400, "invalid", "not a UUID", "id");
        refused(fx.http.get("/v1/nothing-here", ApiFixture.OPERATOR), 404, "not_found", "Endpoint GET /v1/nothing-here not found", null);
        refused(fx.http.get("/v1/gpus?state=broken", ApiFixture.OPERATOR), 400, "invalid", "state must be one of", "state");
        refused(fx.http.get("/v1/gpus?modle=x", ApiFixture.OPERATOR), 400, "invalid", "unknown query parameter 'modle'", "modle");
        refused(fx.http.get("/v1/gpus?limit=0", ApiFixture.OPERATOR), 400, "invalid", "limit must be", "limit");
    }

    @Test
    void missingWrongAndRevokedTokens() {
        refused(fx.http.get("/v1/hosts", null), 401, "unauthorized", "missing bearer token", null);
        refused(fx.http.get("/v1/hosts", "gfo_nonsense"), 401, "unauthorized", "token is not valid", null);
        Http.Response raw = fx.http.send("GET", "/v1/hosts", null, null, null);
        refused(raw, 401, "unauthorized", "missing bearer token", null);
    }

    @Test
    void revokedTokenStopsWorking() throws Exception {
        Http.Response issued = fx.http.post("/v1/tenants/tenant-b/tokens", ApiFixture.OPERATOR, Map.of("description", "short-lived"));
        String token = issued.json().get("token").asText();
        assertThat(fx.http.get("/v1/tenants/tenant-b/node", token).status()).isEqualTo(200);
        assertThat(fx.http.delete("/v1/tokens/" + issued.json().get("id").asText(), ApiFixture.OPERATOR).status()).isEqualTo(200);
        refused(fx.http.get("/v1/tenants/tenant-b/node", token), 401, "unauthorized", "has been revoked", null);
        fingerprint = fingerprint();
    }

    @Test
    void expiredJoinTokenCannotRegister() throws Exception {
        String join = fx.joinToken();
        try (Connection c = fx.database.connect(); Statement s = c.createStatement()) {
            s.executeUpdate("UPDATE tokens SET expires_at = now() - interval '1 minute' WHERE role = 'join'");
        }
        fingerprint = fingerprint();
        refused(fx.http.post("/v1/hosts/register", join, Map.of("name", "late")), 401, "unauthorized", "expired at", null);
    }

    @Test
    void rolesAreEnforced() {
        refused(fx.http.get("/v1/hosts", tenantA), 403, "forbidden", "needs a operator token; this is a tenant token", null);
        refused(fx.http.get("/v1/hosts", host.token()), 403, "forbidden", "this is a host token", null);
        refused(fx.http.post("/v1/hosts/register", ApiFixture.OPERATOR, Map.of("name", "sneaky")), 403, "forbidden", "needs a join token", null);
        refused(fx.http.post("/v1/hosts/" + host.id() + "/heartbeat", tenantA, null), 403, "forbidden", "this is a tenant token", null);
    }

    @Test
    void aHostTokenCannotActForAnotherHost() {
        refused(fx.http.post("/v1/hosts/" + other.id() + "/heartbeat", host.token(), null),
                403, "forbidden", "belongs to host " + host.id() + ", not to host " + other.id(), null);
        refused(fx.http.put("/v1/hosts/" + other.id() + "/inventory", host.token(), Inventories.seedPool("bystander", 99)),
                403, "forbidden", "not to host", null);
    }

    @Test
    void aTenantTokenCannotReadAnotherTenant() {
        refused(fx.http.get("/v1/tenants/tenant-b/node", tenantA), 403, "forbidden", "belongs to tenant tenant-a and cannot read tenant tenant-b", null);
        refused(fx.http.get("/v1/tenants/tenant-b/offerings", tenantA), 403, "forbidden", "cannot read tenant tenant-b", null);
        refused(fx.http.get("/v1/tenants/tenant-b", tenantA), 403, "forbidden", "cannot read tenant tenant-b", null);
        refused(fx.http.post("/v1/tenants/tenant-b/tokens", tenantA, Map.of()), 403, "forbidden", "operator", null);
    }
}
