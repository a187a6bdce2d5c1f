package gpufleet.host.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import gpufleet.host.SimNvml;
import gpufleet.host.gpu.GpuSnapshot;
import gpufleet.host.nvml.NvmlGpuInventory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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
        try (MetricsServer server = new MetricsServer("127.0.0.1", 0, () -> dcgm.render(snapshot))) {
            HttpResponse<String> r = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString());
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

    private static String value(String body, String series) {
        for (String line : body.split("\n")) {
            if (line.startsWith(series + " ")) {
                return line.substring(series.length() + 1);
            }
        }
        throw new AssertionError("no series " + series);
    }
}
