package gpufleet.host.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import gpufleet.host.SimNvml;
import gpufleet.host.gpu.GpuSnapshot;
import gpufleet.host.nvml.NvmlGpuInventory;
import gpufleet.host.workload.WorkloadLoop.GpuHolder;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** /metrics speaks dcgm-exporter's names and labels, from a real sweep of the simulated NVML. */
class DcgmMetricsIT {
    @Test
    void metricsUseDcgmExporterNamesLabelsAndUnits() throws Exception {
        SimNvml.defaults();
        GpuSnapshot snapshot;
        try (NvmlGpuInventory nvml = new NvmlGpuInventory(SimNvml.library())) {
            snapshot = nvml.sweep();
        }
        DcgmMetrics dcgm = new DcgmMetrics("gpu-07");
        dcgm.xid(snapshot.gpus().get(3).uuid(), 79);
        try (MetricsServer server = new MetricsServer("127.0.0.1", 0, () -> dcgm.render(snapshot, Map.of()), List::of)) {
            HttpResponse<String> r = get(server, "/metrics");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain; version=0.0.4");
            String body = r.body();
            String g0 = snapshot.gpus().get(0).uuid();
            String labels = "{gpu=\"0\",UUID=\"" + g0 + "\",pci_bus_id=\"00000000:18:00.0\",device=\"nvidia0\","
                    + "modelName=\"NVIDIA RTX A6000\",Hostname=\"gpu-07\"}";
            for (String name : new String[] {"DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_MEM_COPY_UTIL", "DCGM_FI_DEV_GPU_TEMP",
                    "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "DCGM_FI_DEV_FB_FREE",
                    "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_XID_ERRORS", "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL",
                    "DCGM_FI_DEV_ECC_DBE_AGG_TOTAL", "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS"}) {
                assertThat(body).contains("# TYPE " + name + " ").contains(name + labels + " ");
            }
            long fbTotalMib = snapshot.gpus().get(0).memoryTotalBytes() >> 20;
            long used = Long.parseLong(value(body, "DCGM_FI_DEV_FB_USED" + labels));
            long free = Long.parseLong(value(body, "DCGM_FI_DEV_FB_FREE" + labels));
            assertThat(used + free).isBetween(fbTotalMib - 1, fbTotalMib);
            assertThat(Double.parseDouble(value(body, "DCGM_FI_DEV_POWER_USAGE" + labels)))
                    .isEqualTo(snapshot.gpus().get(0).powerMilliwatts() / 1000.0);
            assertThat(body).contains("DCGM_FI_DEV_XID_ERRORS{gpu=\"3\"").containsPattern("gpu=\"3\"[^}]*} 79\\n");
        }
    }

    @Test
    void anAllocatedGpuNamesItsPodWithTheTenantsWordsEscaped() throws Exception {
        SimNvml.defaults();
        GpuSnapshot snapshot;
        try (NvmlGpuInventory nvml = new NvmlGpuInventory(SimNvml.library())) {
            snapshot = nvml.sweep();
        }
        String uuid = snapshot.gpus().get(1).uuid();
        // What a tenant controls: a hostile namespace, pod and container name (the control-api
        // validates names, but the exporter must not rely on it).
        GpuHolder holder = new GpuHolder("skg00000", "ns\\\"}\nDCGM_FI_DEV_GPU_UTIL{gpu=\"9\"} 100", "pod\"x\"", "c\\");
        DcgmMetrics dcgm = new DcgmMetrics("gpu-07");
        try (MetricsServer server = new MetricsServer("127.0.0.1", 0, () -> dcgm.render(snapshot, Map.of(uuid, holder)), List::of)) {
            String body = get(server, "/metrics").body();
            List<String> util = body.lines().filter(l -> l.startsWith("DCGM_FI_DEV_GPU_UTIL{")).toList();
            assertThat(util).as("one series per GPU, none forged").hasSize(snapshot.gpus().size());
            assertThat(body.lines().filter(l -> l.startsWith("DCGM_FI_DEV_GPU_UTIL{gpu=\"9\"")).toList()).isEmpty();
            String held = util.get(1);
            assertThat(held).contains(",container=\"c\\\\\",namespace=\"ns\\\\\\\"}\\nDCGM_FI_DEV_GPU_UTIL{gpu=\\\"9\\\"} 100\","
                    + "pod=\"pod\\\"x\\\"\",tenant=\"skg00000\"} ");
            assertThat(util.get(0)).as("a free GPU names no pod").doesNotContain("pod=").doesNotContain("tenant=");
        }
        assertThat(DcgmMetrics.escape("a\\b\"c\nd")).isEqualTo("a\\\\b\\\"c\\nd");
    }

    @Test
    void healthzNamesEachProblemWith503AndSaysOkOtherwise() throws Exception {
        List<String> problems = new ArrayList<>(List.of("NvmlReady is False: DriverNotLoaded", "no answer from the control-api for 41 s"));
        try (MetricsServer server = new MetricsServer("127.0.0.1", 0, () -> "", () -> List.copyOf(problems))) {
            HttpResponse<String> down = get(server, "/healthz");
            assertThat(down.statusCode()).isEqualTo(503);
            assertThat(down.body()).isEqualTo("NvmlReady is False: DriverNotLoaded\nno answer from the control-api for 41 s\n");
            problems.clear();
            HttpResponse<String> up = get(server, "/healthz");
            assertThat(up.statusCode()).isEqualTo(200);
            assertThat(up.body()).isEqualTo("ok\n");
        }
    }

    private static HttpResponse<String> get(MetricsServer server, String path) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static String value(String body, String series) {
        for (String line : body.split("\n")) {
            if (line.startsWith(series + " ")) {
                return line.substring(series.length() + 1);
            }
        }
        throw new AssertionError("no series " + series);
    }
}
