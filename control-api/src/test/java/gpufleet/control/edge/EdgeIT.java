package gpufleet.control.edge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.EdgeCurl;
import gpufleet.control.support.Http;
import gpufleet.control.support.Pods;
import gpufleet.control.support.Scrape;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Routes through the real Caddy that dev/services.sh runs (admin API on 127.0.0.1:2019): the
 * control-api keeps Caddy's configuration equal to its routes table. A small HTTP server on
 * loopback stands in for a pod port published by a host-agent. The edge listens on a port free at
 * the start of each test, not a fixed one that something else on the machine may hold.
 */
class EdgeIT {
    static final String ADMIN = "http://127.0.0.1:2019";
    ApiFixture fx;
    int https;
    HttpServer pod;
    String tokenA;
    String tokenB;
    ApiFixture.Host host;

    @BeforeEach
    void start() throws IOException {
        pod = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        pod.createContext("/", x -> {
            byte[] body = "It works!\n".getBytes(StandardCharsets.UTF_8);
            x.sendResponseHeaders(200, body.length);
            x.getResponseBody().write(body);
            x.close();
        });
        pod.start();
        https = freePort();
        fx = ApiFixture.start(Map.of("GPUFLEET_EDGE_ADMIN_URL", ADMIN, "GPUFLEET_EDGE_HTTPS_PORT", Integer.toString(https),
                "GPUFLEET_EDGE_DOMAIN", "fleet.test", "GPUFLEET_EDGE_SYNC_INTERVAL", "300ms"));
        fx.seedOfferings();
        host = fx.seedHost("edge-gpu");
        tokenA = fx.tenant("skg00000", List.of("seeweb-nvidia-1xa6000"));
        tokenB = fx.tenant("other", List.of("seeweb-nvidia-1xa6000"));
    }

    @AfterEach
    void stop() {
        fx.close();
        pod.stop(0);
    }

    /** A running workload of tenant skg00000 whose port 8080 the host published at the stand-in server. */
    private String runningPod(String uid) {
        String id = fx.http.post("/v1/tenants/skg00000/workloads", tokenA, Pods.seedPod(uid)).json().get("id").asText();
        fx.http.put("/v1/hosts/" + host.id() + "/workloads/" + id + "/status", host.token(), Map.of("generation", 1,
                "containers", List.of(Map.of("name", "nvidia", "state", "running", "ready", true)),
                "ports", Map.of("8080", "127.0.0.1:" + pod.getAddress().getPort())));
        return id;
    }

    private Scrape scrape() {
        return new Scrape(new Http(fx.api.metricsPort()).get("/metrics", null).body());
    }

    private static Map<String, Object> route(String uid) {
        return Map.of("namespace", "default", "name", "inference", "port", 80, "targets", List.of(Map.of("podUid", uid, "port", 8080)));
    }

    String curl(String name) {
        return EdgeCurl.get(name, https);
    }

    /** A port nothing listens on now (the kernel's choice), for Caddy to take. */
    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void theSeedsServiceAnswersThroughTheEdgeAndTheRouteFollowsItsPod() {
        runningPod("pod-1");
        var r = fx.http.put("/v1/tenants/skg00000/routes/8d0a8f33-e9f9-434a-b3de-9ae58ac9de76", tokenA, route("pod-1"));
        assertThat(r.status()).isEqualTo(200);
        String name = "8d0a8f33-e9f9-434a-b3de-9ae58ac9de76-skg00000.fleet.test";
        assertThat(r.json().get("hostname").asText()).isEqualTo(name);
        assertThat(r.json().get("readyTargets").asInt()).isEqualTo(1);
        await().atMost(Duration.ofSeconds(60)).until(() -> curl(name).equals("200 It works!"));
        // The host's desired list now asks it to publish the pod's port 8080.
        assertThat(fx.http.get("/v1/hosts/" + host.id() + "/workloads", host.token()).json().at("/workloads/0/publish/0").asInt())
                .isEqualTo(8080);
        Scrape synced = scrape();
        assertThat(synced.value("gpufleet_edge_in_step_timestamp_seconds")).as("Caddy seen in step within the last minute")
                .isGreaterThan(System.currentTimeMillis() / 1000.0 - 60);
        assertThat(synced.value("gpufleet_edge_routes_skipped")).isZero();
        assertThat(synced.value("gpufleet_edge_sync_failures_total")).isZero();

        assertThat(curl("nobody-skg00000.fleet.test")).isEqualTo("404 no service is published at this name");
        fx.http.delete("/v1/tenants/skg00000/workloads/pod-1", tokenA);
        await().atMost(Duration.ofSeconds(30)).until(() -> curl(name).startsWith("503 no ready pod behind service default/inference"));
        runningPod("pod-2");
        fx.http.put("/v1/tenants/skg00000/routes/8d0a8f33-e9f9-434a-b3de-9ae58ac9de76", tokenA, route("pod-2"));
        await().atMost(Duration.ofSeconds(30)).until(() -> curl(name).equals("200 It works!"));

        assertThat(fx.http.delete("/v1/tenants/skg00000/routes/8d0a8f33-e9f9-434a-b3de-9ae58ac9de76", tokenA).status()).isEqualTo(204);
        await().atMost(Duration.ofSeconds(30)).until(() -> curl(name).startsWith("404 "));
    }

    @Test
    void aPodItsReadinessProbeFailsGetsNoTrafficUntilItIsReadyAgain() {
        String id = runningPod("pod-r");
        var r = fx.http.put("/v1/tenants/skg00000/routes/8d0a8f33-e9f9-434a-b3de-9ae58ac9de76", tokenA, route("pod-r"));
        String name = "8d0a8f33-e9f9-434a-b3de-9ae58ac9de76-skg00000.fleet.test";
        await().atMost(Duration.ofSeconds(60)).until(() -> curl(name).equals("200 It works!"));
        // The host says the container runs but its readiness probe fails: the pod stays running, out of the edge.
        ready(id, 2, false);
        await().atMost(Duration.ofSeconds(30)).until(() -> curl(name).startsWith("503 no ready pod behind service default/inference"));
        assertThat(fx.http.get("/v1/tenants/skg00000/routes/8d0a8f33-e9f9-434a-b3de-9ae58ac9de76", tokenA).json()
                .get("readyTargets").asInt()).isZero();
        ready(id, 3, true);
        await().atMost(Duration.ofSeconds(30)).until(() -> curl(name).equals("200 It works!"));
    }

    private void ready(String id, int generation, boolean ready) {
        assertThat(fx.http.put("/v1/hosts/" + host.id() + "/workloads/" + id + "/status", host.token(), Map.of("generation", generation,
                "containers", List.of(Map.of("name", "nvidia", "state", "running", "ready", ready)),
                "ports", Map.of("8080", "127.0.0.1:" + pod.getAddress().getPort()))).status()).isEqualTo(200);
    }

    @Test
    void aNameLeadsOnlyToItsTenantsPodsAndTenantsCannotTouchEachOthersRoutes() {
        runningPod("pod-a");
        fx.http.put("/v1/tenants/skg00000/routes/0a0a0a0a-0000-4000-8000-00000000000a", tokenA, route("pod-a"));
        // Tenant "other" names tenant skg00000's pod: the pod is not theirs, so nothing answers behind it.
        var theirs = fx.http.put("/v1/tenants/other/routes/0b0b0b0b-0000-4000-8000-00000000000b", tokenB, route("pod-a"));
        assertThat(theirs.json().get("readyTargets").asInt()).isZero();
        await().atMost(Duration.ofSeconds(30)).until(() -> curl("0a0a0a0a-0000-4000-8000-00000000000a-skg00000.fleet.test").equals("200 It works!"));
        // The two routes may reach Caddy in two loads: wait for the second one's answer, whatever it is.
        await().atMost(Duration.ofSeconds(30)).until(() -> curl("0b0b0b0b-0000-4000-8000-00000000000b-other.fleet.test"), r -> !r.startsWith("404 ") && !r.startsWith("000"));
        assertThat(curl("0b0b0b0b-0000-4000-8000-00000000000b-other.fleet.test")).startsWith("503 no ready pod behind service default/inference of tenant other");
        assertThat(fx.http.put("/v1/tenants/skg00000/routes/0e0e0e0e-0000-4000-8000-00000000000e", tokenB, route("pod-a")).status()).isEqualTo(403);
        assertThat(fx.http.delete("/v1/tenants/skg00000/routes/0a0a0a0a-0000-4000-8000-00000000000a", tokenB).status()).isEqualTo(403);
        assertThat(fx.http.get("/v1/tenants/other/routes", tokenB).json().get("items")).hasSize(1);
        assertThat(fx.http.get("/v1/routes", ApiFixture.OPERATOR).json().get("items")).hasSize(2);
        assertThat(fx.http.put("/v1/tenants/skg00000/routes/Not_A_Uid", tokenA, route("pod-a")).error()).isEqualTo("invalid");
        assertThat(fx.http.put("/v1/tenants/skg00000/routes/0c0c0c0c-0000-4000-8000-00000000000c", tokenA, Map.of("namespace", "default", "name", "x", "port", 0))
                .message()).contains("port must be 1..65535");
    }

    @Test
    void aRestartedCaddyGetsEveryRouteBackWithoutAnyCall() throws Exception {
        runningPod("pod-r");
        fx.http.put("/v1/tenants/skg00000/routes/0f0f0f0f-0000-4000-8000-00000000000f", tokenA, route("pod-r"));
        await().atMost(Duration.ofSeconds(30)).until(() -> curl("0f0f0f0f-0000-4000-8000-00000000000f-skg00000.fleet.test").equals("200 It works!"));
        HttpClient http = HttpClient.newHttpClient();
        try {
            http.send(HttpRequest.newBuilder(URI.create(ADMIN + "/stop")).POST(HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.discarding());
        } catch (IOException e) {
            // Caddy may close the connection as it stops.
        }
        try {
            await().atMost(Duration.ofSeconds(30)).until(() -> curl("0f0f0f0f-0000-4000-8000-00000000000f-skg00000.fleet.test").startsWith("000"));
            await("the lost Caddy counted on /metrics").atMost(Duration.ofSeconds(30))
                    .until(() -> scrape().value("gpufleet_edge_sync_failures_total") > 0);
        } finally {
            // Started again as dev/services.sh starts it (its bare start-up configuration), even
            // when an assertion above failed: other tests on this machine need the edge.
            Process p = new ProcessBuilder("bash", Path.of("../dev/services.sh").toString(), "caddy").inheritIO().start();
            assertThat(p.waitFor()).isZero();
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> curl("0f0f0f0f-0000-4000-8000-00000000000f-skg00000.fleet.test").equals("200 It works!"));
    }
}
