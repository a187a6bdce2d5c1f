package gpufleet.tenant.kubelet;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** kubectl top and metrics-server: the Summary API, the resource metrics, and the node's pod list. */
@EnableKubernetesMockClient(crud = true)
class StatsTest {
    KubernetesMockServer server;
    KubernetesClient client;
    @TempDir
    Path tmp;
    KubeletFixture fx;
    KubeletBackend.PodRef pod;

    @BeforeEach
    void start() throws Exception {
        fx = new KubeletFixture(server, client, tmp);
        pod = fx.pod("default", "trainer", KubeletFixture.NODE, "main", "sidecar");
        fx.pod("default", "elsewhere", "worker-1", "main");
        fx.backend.stats = List.of(new KubeletBackend.PodStats(pod, "2026-11-28T10:00:00Z", List.of(
                new KubeletBackend.ContainerStats("main", "2026-11-28T10:00:01Z", 12_500_000_000L, 250_000_000L, 1_073_741_824L,
                        1_200_000_000L, 900_000_000L, "2026-11-28T11:00:00Z"),
                new KubeletBackend.ContainerStats("sidecar", "2026-11-28T10:00:02Z", 500_000_000L, 1_000_000L, 10_485_760L,
                        20_000_000L, 9_000_000L, "2026-11-28T11:00:00Z")),
                List.of(new KubeletBackend.GpuStats("GPU-3f1c", "NVIDIA RTX A6000", 87, 20_000_000_000L, 51_527_024_640L))));
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    private HttpResponse<String> get(String path) throws Exception {
        return HttpClient.newBuilder().sslContext(fx.apiServer()).build()
                .send(HttpRequest.newBuilder(fx.uri(path)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void theSummaryHasTheNodeAndEachPodWithContainersAndGpus() throws Exception {
        HttpResponse<String> r = get("/stats/summary");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode s = new ObjectMapper().readTree(r.body());
        assertThat(s.at("/node/nodeName").asText()).isEqualTo("k8s.gpu");
        assertThat(s.at("/node/cpu/usageNanoCores").asLong()).isEqualTo(251_000_000L);
        assertThat(s.at("/node/memory/workingSetBytes").asLong()).isEqualTo(1_084_227_584L);
        JsonNode p = s.at("/pods/0");
        assertThat(p.at("/podRef/name").asText()).isEqualTo("trainer");
        assertThat(p.at("/podRef/namespace").asText()).isEqualTo("default");
        assertThat(p.at("/podRef/uid").asText()).isEqualTo(pod.uid());
        assertThat(p.at("/cpu/usageCoreNanoSeconds").asLong()).isEqualTo(13_000_000_000L);
        assertThat(p.at("/memory/workingSetBytes").asLong()).isEqualTo(1_084_227_584L);
        assertThat(p.at("/containers/0/name").asText()).isEqualTo("main");
        assertThat(p.at("/containers/0/startTime").asText()).isEqualTo("2026-11-28T10:00:01Z");
        assertThat(p.at("/containers/0/cpu/usageNanoCores").asLong()).isEqualTo(250_000_000L);
        assertThat(p.at("/containers/0/cpu/time").asText()).isEqualTo("2026-11-28T11:00:00Z");
        assertThat(p.at("/containers/0/memory/rssBytes").asLong()).isEqualTo(900_000_000L);
        assertThat(p.at("/accelerators/0/id").asText()).isEqualTo("GPU-3f1c");
        assertThat(p.at("/accelerators/0/dutyCycle").asInt()).isEqualTo(87);
        assertThat(p.at("/accelerators/0/memoryTotal").asLong()).isEqualTo(51_527_024_640L);
    }

    @Test
    void resourceMetricsAreWhatMetricsServerReads() throws Exception {
        HttpResponse<String> r = get("/metrics/resource");
        assertThat(r.headers().firstValue("content-type")).hasValue("text/plain; version=0.0.4; charset=utf-8");
        long at = Instant.parse("2026-11-28T11:00:00Z").toEpochMilli();
        long started = Instant.parse("2026-11-28T10:00:01Z").toEpochMilli();
        assertThat(r.body()).contains(
                "# TYPE container_cpu_usage_seconds_total counter\n",
                "container_cpu_usage_seconds_total{container=\"main\",namespace=\"default\",pod=\"trainer\"} 12.500000000 " + at + "\n",
                "container_memory_working_set_bytes{container=\"sidecar\",namespace=\"default\",pod=\"trainer\"} 10485760 " + at + "\n",
                "container_start_time_seconds{container=\"main\",namespace=\"default\",pod=\"trainer\"} " + (started / 1000) + ".000 " + started + "\n",
                "pod_cpu_usage_seconds_total{namespace=\"default\",pod=\"trainer\"} 13.000000000 " + at + "\n",
                "pod_memory_working_set_bytes{namespace=\"default\",pod=\"trainer\"} 1084227584 " + at + "\n",
                "node_cpu_usage_seconds_total 13.000000000 ",
                "node_memory_working_set_bytes 1084227584 ",
                "# TYPE scrape_error gauge\nscrape_error 0\n");
    }

    @Test
    void aProviderThatDoesNotAnswerIsAScrapeError() throws Exception {
        fx.backend.statsFail = true;
        assertThat(get("/metrics/resource").body()).endsWith("scrape_error 1\n").doesNotContain("container_cpu");
        HttpResponse<String> summary = get("/stats/summary");
        assertThat(summary.statusCode()).isEqualTo(500);
        assertThat(summary.body()).contains("the provider could not be reached: the provider did not answer");
    }

    @Test
    void podsListsOnlyThePodsBoundToTheNode() throws Exception {
        JsonNode list = new ObjectMapper().readTree(get("/pods").body());
        assertThat(list.path("kind").asText()).isEqualTo("PodList");
        assertThat(list.path("items")).extracting(i -> i.at("/metadata/name").asText()).containsExactly("trainer");
    }
}
