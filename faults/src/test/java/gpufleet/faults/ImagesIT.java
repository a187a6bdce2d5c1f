package gpufleet.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.withinPercentage;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Http;
import gpufleet.control.support.TestDatabase;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The control-api and the tenant-agent from their images (dev/images.sh, built from the jars
 * this build made), run as a provider runs them: each turns healthy by the image's own health
 * check, serves a real request, runs as the image's non-root user on a read-only root, and sizes
 * its heap from the container's memory limit. Here, after every program's jar is packaged.
 */
@EnableKubernetesMockClient(crud = true, https = false)
class ImagesIT {
    static final long MIB = 1024 * 1024;
    KubernetesClient client;

    @Test
    void theControlApiFromItsImageRegistersAHostOnPostgres() throws IOException {
        String image = ImageContainer.build("control-api");
        Path seal = readableCopy(ApiFixture.SEAL_KEY_FILE, "seal.key");
        int port = Ports.free();
        try (TestDatabase db = TestDatabase.create();
             ImageContainer c = ImageContainer.run(image, "512m", Map.of("GPUFLEET_DB_URL", db.url(),
                     "GPUFLEET_DB_USER", TestDatabase.USER, "GPUFLEET_DB_PASSWORD", TestDatabase.PASSWORD,
                     "GPUFLEET_LISTEN", "127.0.0.1:" + port, "GPUFLEET_METRICS_LISTEN", "127.0.0.1:" + Ports.free(),
                     "GPUFLEET_OPERATOR_TOKEN", ApiFixture.OPERATOR, "GPUFLEET_SEAL_KEY_FILE", "/run/gpufleet/seal.key",
                     "JDK_JAVA_OPTIONS", "-XX:+PrintFlagsFinal"), List.of(seal + ":/run/gpufleet/seal.key:ro"))) {
            awaitHealthy(c);
            Http http = new Http(port);
            Http.Response join = http.post("/v1/join-tokens", ApiFixture.OPERATOR, Map.of("description", "image test", "ttl", "1h"));
            assertThat(join.status()).as(join.toString()).isEqualTo(201);
            Http.Response reg = http.post("/v1/hosts/register", join.json().get("token").asText(), Map.of("name", "img-host-1"));
            assertThat(reg.status()).as(reg.toString()).isEqualTo(201);
            JsonNode hosts = http.get("/v1/hosts", ApiFixture.OPERATOR).json();
            assertThat(hosts.toString()).contains("img-host-1");
            assertRunsAsProvidersRunIt(c, 512);
        }
    }

    @Test
    void theTenantAgentFromItsImageMakesItsVirtualNode() throws Exception {
        String image = ImageContainer.build("tenant-agent");
        try (ApiFixture fx = ApiFixture.start()) {
            fx.seedOfferings();
            fx.seedHost("img-pool");
            String token = fx.tenant("skg00042", List.of("seeweb-nvidia-1xa6000"));
            Path kubeconfig = Files.createTempFile("gpufleet-images", ".kubeconfig");
            Files.writeString(kubeconfig, """
                    apiVersion: v1
                    kind: Config
                    clusters: [{name: mock, cluster: {server: "%s"}}]
                    users: [{name: agent, user: {token: mock}}]
                    contexts: [{name: mock, context: {cluster: mock, user: agent, namespace: default}}]
                    current-context: mock
                    """.formatted(client.getMasterUrl()));
            Path mounted = readableCopy(kubeconfig, "kubeconfig");
            int health = Ports.free();
            Map<String, String> env = new HashMap<>(Map.of("KUBECONFIG", "/run/gpufleet/kubeconfig",
                    "GPUFLEET_CONTROL_API_URL", "http://127.0.0.1:" + fx.api.port(), "GPUFLEET_TENANT_TOKEN", token,
                    "GPUFLEET_KUBELET_TLS", "off", "GPUFLEET_KUBELET_PORT", Integer.toString(Ports.free()),
                    "GPUFLEET_KUBELET_BIND_ADDRESS", "127.0.0.1", "GPUFLEET_HEALTH_PORT", Integer.toString(health),
                    "GPUFLEET_SYNC_INTERVAL", "1s", "JDK_JAVA_OPTIONS", "-XX:+PrintFlagsFinal"));
            try (ImageContainer c = ImageContainer.run(image, "768m", env, List.of(mounted + ":/run/gpufleet/kubeconfig:ro"))) {
                await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500))
                        .until(() -> client.nodes().withName("k8s.gpu").get() != null);
                Node node = client.nodes().withName("k8s.gpu").get();
                assertThat(node.getMetadata().getLabels()).containsEntry("type", "virtual-kubelet");
                awaitHealthy(c);
                HttpResponse<String> ready = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + health + "/readyz")).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(ready.statusCode()).as(ready.body()).isEqualTo(200);
                assertRunsAsProvidersRunIt(c, 768);
            }
        }
    }

    private static void awaitHealthy(ImageContainer c) {
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofSeconds(1))
                .until(() -> !c.health().equals("starting"));
        assertThat(c.health()).as("health of %s; its output:%n%s", c.image, c.logs()).isEqualTo("healthy");
    }

    /** Non-root, read-only root, the heap at the image's 75% of the memory limit, and labelled with its source. */
    private static void assertRunsAsProvidersRunIt(ImageContainer c, long memoryMib) {
        assertThat(c.exec("id", "-u")).isEqualTo(Integer.toString(ImageContainer.UID));
        assertThat(c.inspect("{{.HostConfig.ReadonlyRootfs}}")).isEqualTo("true");
        assertThat(c.exec("bash", "-c", "touch /opt/gpufleet/probe 2>&1 || true")).contains("Read-only file system");
        assertThat((double) c.maxHeapBytes()).isCloseTo(memoryMib * MIB * 0.75, withinPercentage(1));
        assertThat(c.inspect("{{index .Config.Labels \"org.opencontainers.image.revision\"}}")).matches("[0-9a-f]{40}(-dirty)?");
        assertThat(c.inspect("{{index .Config.Labels \"org.opencontainers.image.version\"}}")).isNotBlank();
    }

    /** A copy owned by the image's user (65532), for it alone: the control-api refuses a key others may read. */
    private static Path readableCopy(Path file, String name) throws IOException {
        Path dir = Files.createTempDirectory("gpufleet-images");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path copy = Files.copy(file, dir.resolve(name));
        Files.setPosixFilePermissions(copy, PosixFilePermissions.fromString("rw-------"));
        Files.setAttribute(copy, "unix:uid", ImageContainer.UID);
        return copy;
    }
}
