package gpufleet.control.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.EdgeCurl;
import gpufleet.control.support.Fingerprint;
import gpufleet.control.support.Http;
import gpufleet.control.support.Pods;
import java.io.IOException;
import java.net.IDN;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A tenant that sends what it likes, against a real control-api on PostgreSQL with the real Caddy
 * edge: each attempt is refused with a 4xx naming the reason, and changes nothing, in the
 * database or on the edge. (Part of docs/security.md's list of walls.)
 */
class HostileTenantIT {
    static final String ADMIN = "http://127.0.0.1:2019";
    static final String UID = "8d0a8f33-e9f9-434a-b3de-9ae58ac9de76";
    static ApiFixture fx;
    static String demo;
    static int https;
    Map<String, String> before;

    @BeforeAll
    static void start() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            https = s.getLocalPort();
        }
        fx = ApiFixture.start(Map.of("GPUFLEET_EDGE_ADMIN_URL", ADMIN, "GPUFLEET_EDGE_HTTPS_PORT", Integer.toString(https),
                "GPUFLEET_EDGE_DOMAIN", "fleet.test", "GPUFLEET_EDGE_SYNC_INTERVAL", "300ms"));
        fx.seedOfferings();
        fx.seedHost("hostile-gpu");
        demo = fx.tenant("demo", List.of("seeweb-nvidia-1xa6000"));
        assertThat(fx.http.put("/v1/tenants/demo/routes/" + UID, demo, route("default", "web")).status()).isIn(200, 201);
        await().atMost(Duration.ofSeconds(30)).until(() -> EdgeCurl.get(UID + "-demo.fleet.test", https).startsWith("503 "));
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    @BeforeEach
    void remember() throws Exception {
        before = Fingerprint.of(fx);
    }

    @AfterEach
    void nothingChanged() throws Exception {
        assertThat(Fingerprint.of(fx)).as("the database changed after a refused request").isEqualTo(before);
        assertThat(caddyConfig()).as("Caddy's configuration holds a placeholder").doesNotContain("{env.").doesNotContain("{system.")
                .doesNotContain("{file.");
    }

    static Map<String, Object> route(String namespace, String name) {
        return Map.of("namespace", namespace, "name", name, "port", 80, "targets", List.of(Map.of("podUid", "web-1", "port", 8080)));
    }

    static void refused(Http.Response r, int status, String field, String reason) {
        assertThat(r.status()).as(r.toString()).isEqualTo(status);
        assertThat(r.message()).as(r.toString()).contains(reason).doesNotContain("gpufleet.").doesNotContain("java.")
                .doesNotContain("database is unavailable");
        if (field != null) {
            assertThat(r.json().path("field").asText()).as(r.toString()).isEqualTo(field);
        }
    }

    @Test
    void caddyPlaceholdersInEveryRouteFieldAreRefusedAndNeverReachTheEdge() {
        String placeholder = "{env.HOME}.{system.hostname}";
        refused(fx.http.put("/v1/tenants/demo/routes/" + UID, demo, route("default", placeholder)), 400, "name", "RFC 1035 label");
        refused(fx.http.put("/v1/tenants/demo/routes/" + UID, demo, route(placeholder, "web")), 400, "namespace", "RFC 1123 label");
        refused(fx.http.put("/v1/tenants/demo/routes/" + UID, demo, Map.of("namespace", "default", "name", "web", "port", 80,
                "targets", List.of(Map.of("podUid", "{file./etc/passwd}", "port", 8080)))), 400, "targets[0].podUid", "Kubernetes UID");
        refused(fx.http.put("/v1/tenants/demo/routes/%7Benv.HOME%7D", demo, route("default", "web")), 400, "serviceUid", "Kubernetes UID");
        // The edge still says what it said before, without anything evaluated (waited for: a load of
        // Caddy's configuration by another test's route briefly closes the listener).
        String expected = "503 no ready pod behind service default/web of tenant demo";
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(EdgeCurl.get(UID + "-demo.fleet.test", https)).isEqualTo(expected));
    }

    @Test
    void aNulOrHalfASurrogatePairIsABadRequestNotAnOutage() {
        refused(send("POST", "/v1/tenants/demo/workloads", podJson("uid-\\u0000", "\"A\"", "\"1\"")), 400, "podUid", "NUL character");
        refused(send("POST", "/v1/tenants/demo/workloads", podJson("uid-nul-env", "\"A\"", "\"x\\u0000y\"")), 400,
                "containers[0].env[0].value", "NUL character (\\u0000) at position 1");
        refused(send("POST", "/v1/tenants/demo/workloads", podJson("uid-surrogate", "\"A\"", "\"\\ud800\"")), 400,
                "containers[0].env[0].value", "half of a UTF-16 surrogate pair");
    }

    @Test
    void aNumberTooLargeIsNamedWithoutTheClassBehindIt() {
        Map<String, Object> pod = Pods.seedPod("uid-huge");
        Map<String, Object> c = new LinkedHashMap<>(Pods.container("nvidia", 1, "99999999999999999999999999", "16Gi"));
        pod.put("containers", List.of(c));
        Http.Response r = fx.http.post("/v1/tenants/demo/workloads", demo, pod);
        assertThat(r.status()).as(r.toString()).isEqualTo(400);
        assertThat(r.message()).as(r.toString()).contains("cpu").doesNotContain("gpufleet.").doesNotContain("$").doesNotContain("`");
        Http.Response gpus = send("POST", "/v1/tenants/demo/workloads", """
                {"podUid":"uid-gpus","namespace":"default","name":"p","offering":"seeweb-nvidia-1xa6000","containers":[{"name":"c",
                 "image":"gpufleet/busybox:test","resources":{"gpus":99999999999999999999,"cpu":"1","memory":"1Gi"}}]}""");
        refused(gpus, 400, null, "gpus");
    }

    @Test
    void tenantNamesArePublicNameLabelsAndTheLongestStillMakesAValidDnsName() throws Exception {
        refused(fx.http.post("/v1/tenants", ApiFixture.OPERATOR, Map.of("name", "t".repeat(27))), 400, "name",
                "longer than 26 characters");
        refused(fx.http.post("/v1/tenants", ApiFixture.OPERATOR, Map.of("name", "-demo")), 400, "name", "starting and ending");
        refused(fx.http.post("/v1/tenants", ApiFixture.OPERATOR, Map.of("name", "demo-")), 400, "name", "starting and ending");

        String longest = "l" + "0123456789abcdefghijklmn" + "z";
        String token = fx.tenant(longest, List.of("seeweb-nvidia-1xa6000"));
        Http.Response r = fx.http.put("/v1/tenants/" + longest + "/routes/" + UID, token, route("default", "web"));
        String hostname = r.json().path("hostname").asText();
        assertThat(hostname).isEqualTo(UID + "-" + longest + ".fleet.test");
        assertThat(hostname.substring(0, hostname.indexOf('.'))).hasSize(63);
        assertThat(IDN.toASCII(hostname, IDN.USE_STD3_ASCII_RULES)).isEqualTo(hostname);
        before = Fingerprint.of(fx);
    }

    @Test
    void twoTenantsCannotMakeTheSamePublicName() throws Exception {
        // Before: tenant "a-b" with service uid U and tenant "b" with service uid "U-a" both named "U-a-b".
        String ab = fx.tenant("a-b", List.of("seeweb-nvidia-1xa6000"));
        String b = fx.tenant("b", List.of("seeweb-nvidia-1xa6000"));
        Http.Response first = fx.http.put("/v1/tenants/a-b/routes/" + UID, ab, route("default", "web"));
        assertThat(first.json().path("hostname").asText()).isEqualTo(UID + "-a-b.fleet.test");
        before = Fingerprint.of(fx);
        refused(fx.http.put("/v1/tenants/b/routes/" + UID + "-a", b, route("default", "web")), 400, "serviceUid", "Kubernetes UID");
    }

    private static String podJson(String podUid, String envName, String envValue) {
        return """
                {"podUid":"%s","namespace":"default","name":"p","offering":"seeweb-nvidia-1xa6000","containers":[{"name":"c",
                 "image":"gpufleet/busybox:test","env":[{"name":%s,"value":%s}],"resources":{"gpus":1,"cpu":"1","memory":"1Gi"}}]}"""
                .formatted(podUid, envName, envValue);
    }

    private static Http.Response send(String method, String path, String json) {
        return fx.http.send(method, path, demo, json, "application/json");
    }

    private static String caddyConfig() throws IOException, InterruptedException {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(ADMIN + "/config/")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }
}
