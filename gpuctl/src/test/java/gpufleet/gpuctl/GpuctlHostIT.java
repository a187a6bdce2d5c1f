package gpufleet.gpuctl;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import gpufleet.common.api.GpuReport;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.ApiFixture.Host;
import gpufleet.control.support.Inventories;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** gpuctl cordon, uncordon, describe (with the recent history) and top gpus against a real control-api. */
class GpuctlHostIT {
    static ApiFixture fx;
    static Fleet fleet;
    static Cli cli;
    static Host host;
    static JsonNode workload;
    static String sickGpu;

    @BeforeAll
    static void start(@TempDir Path home) {
        fx = ApiFixture.start();
        fleet = new Fleet(fx);
        host = fx.seedHost("gpu-01");
        workload = fleet.pod("uid-1");
        fleet.running(host, workload, 1);
        sickGpu = Inventories.uuid("gpu-01", 3);
        List<GpuReport> gpus = new ArrayList<>(Inventories.seedPool("gpu-01", 1).gpus());
        gpus.set(3, Inventories.gpu("gpu-01", 3, Inventories.A6000, false, "Xid 79"));
        fx.report(host, Inventories.withGpus(Inventories.seedPool("gpu-01", 1), 2, gpus));
        cli = Cli.against(fx, home);
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    @Test
    void cordonAndUncordonSayWhetherAnythingChanged() {
        assertThat(cli.run("cordon", "gpu-01").out()).isEqualTo("host/gpu-01 cordoned\n");
        assertThat(cli.run("cordon", "gpu-01").out()).isEqualTo("host/gpu-01 already cordoned\n");
        assertThat(cli.run("get", "hosts").out()).containsPattern("gpu-01 +cordoned");
        assertThat(cli.run("uncordon", host.id()).out()).as("by id too").isEqualTo("host/gpu-01 uncordoned\n");
        assertThat(cli.run("uncordon", "gpu-01").out()).isEqualTo("host/gpu-01 already uncordoned\n");
        Cli.Result unknown = cli.run("cordon", "gpu-99");
        assertThat(unknown.code()).isEqualTo(3);
        assertThat(unknown.err()).isEqualTo("error: host gpu-99 not found\n");
        assertThat(cli.run("uncordon").code()).isEqualTo(2);
        assertThat(cli.run("cordon", "gpu-01", "--token", "gfo_wrong-wrong-wrong-wrong-wrong").code()).isEqualTo(4);
    }

    @Test
    void describeHostShowsItsGpusWorkloadsAndHistory() {
        cli.run("cordon", "gpu-01");
        cli.run("uncordon", "gpu-01");
        Cli.Result r = cli.run("describe", "host", "gpu-01");
        assertThat(r.code()).as(r.toString()).isZero();
        String id = workload.get("id").asText();
        assertThat(r.out()).containsPattern("(?m)^Name: +gpu-01$").containsPattern("(?m)^Status: +ready$")
                .containsPattern("(?m)^GPUs: +8 \\(6 free, 1 allocated, 1 unhealthy\\)$")
                .containsPattern("(?m)^CPU: +63 allocatable of 64$")
                .contains("Conditions:\n  TYPE ").contains("NvmlReady")
                .containsPattern("(?m)^  3 +" + sickGpu + " +NVIDIA RTX A6000 +unhealthy +<none> +Xid 79$")
                .containsPattern("(?m)^  " + id + " +skg00000 +default/nvidia-smi +Running +1 +")
                .contains("Events:\n  TYPE ")
                .containsPattern("Normal +Registered +" + Cli.AGE + " +host gpu-01 registered")
                .containsPattern("Normal +HostReady +" + Cli.AGE + " +host gpu-01 is ready \\(was not-ready\\)")
                .containsPattern("Normal +GpuAdded +" + Cli.AGE + " +gpu 0 \\(NVIDIA RTX A6000\\) appeared on host gpu-01 \\(and 7 more like it\\)")
                .containsPattern("Normal +Scheduled +" + Cli.AGE + " +pod skg00000 default/nvidia-smi placed on host gpu-01")
                .containsPattern("Normal +Started +" + Cli.AGE + " +pod skg00000 default/nvidia-smi is running \\(was placed\\)")
                .containsPattern("Warning +GpuUnhealthy +" + Cli.AGE + " +gpu 3 on host gpu-01 is unhealthy: Xid 79")
                .containsPattern("Normal +Cordoned +" + Cli.AGE + " +host gpu-01 cordoned: no new workloads are placed on it")
                .containsPattern("Normal +Uncordoned +");
    }

    @Test
    void describeGpuShowsTelemetryAllocationsAndHealthHistory() {
        String allocated = workload.at("/gpus/nvidia/0").asText();
        Cli.Result r = cli.run("describe", "gpu", allocated);
        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(r.out()).containsPattern("(?m)^UUID: +" + allocated + "$").containsPattern("(?m)^State: +allocated$")
                .containsPattern("(?m)^Tenant: +skg00000$").containsPattern("(?m)^Memory: +1Gi/48Gi$")
                .contains("Allocations:\n  TENANT ").containsPattern("skg00000 +" + workload.get("id").asText() + " +nvidia +" + Cli.AGE + " +<none>")
                .containsPattern("Normal +GpuAdded +" + Cli.AGE + " +gpu \\d \\(NVIDIA RTX A6000\\) appeared on host gpu-01");
        Cli.Result sick = cli.run("describe", "gpu", sickGpu);
        assertThat(sick.out()).containsPattern("(?m)^Health reason: +Xid 79$").contains("Allocations:  <none>")
                .containsPattern("Warning +GpuUnhealthy +");
        assertThat(cli.run("describe", "gpu", "GPU-nope").code()).isEqualTo(3);
    }

    @Test
    void describeWorkloadShowsItsPlacementAndPhases() throws Exception {
        String id = workload.get("id").asText();
        Cli.Result r = cli.run("describe", "workload", id);
        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(r.out()).containsPattern("(?m)^Pod: +default/nvidia-smi$").containsPattern("(?m)^Status: +Running$")
                .containsPattern("(?m)^Host: +gpu-01$").containsPattern("(?m)^Offering: +seeweb-nvidia-1xa6000$")
                .containsPattern("Normal +Scheduled +").containsPattern("Normal +Started +");
        JsonNode json = new ObjectMapper().readTree(cli.run("describe", "workload", id, "-o", "json").out());
        assertThat(json.at("/workload/podUid").asText()).isEqualTo("uid-1");
        assertThat(json.get("events")).isNotEmpty();
        Cli.Result missing = cli.run("describe", "workload", "00000000-0000-4000-8000-000000000000");
        assertThat(missing.code()).isEqualTo(3);
        assertThat(missing.err()).isEqualTo("error: workload 00000000-0000-4000-8000-000000000000 not found\n");
        assertThat(cli.run("describe", "workload", "not-a-uuid").code()).as("the API refuses it: 400").isEqualTo(1);
        assertThat(cli.run("describe", "tenant", "skg00000").code()).isEqualTo(2);
        assertThat(cli.run("describe", "host", "gpu-99").code()).isEqualTo(3);
    }

    @Test
    void topGpusShowsTheBusiestFirst() {
        Cli.Result r = cli.run("top", "gpus");
        assertThat(r.code()).as(r.toString()).isZero();
        List<String> lines = r.out().lines().toList();
        assertThat(lines.get(0)).matches("HOST +INDEX +UUID +MODEL +UTIL +MEMORY +MEM-UTIL +TEMP +POWER +TENANT");
        assertThat(lines).hasSize(9);
        // The simulated telemetry: utilization 7 x index %, temperature 40 + index C, power 90 W.
        assertThat(lines.get(1)).containsPattern("gpu-01 +7 +\\S+ +NVIDIA RTX A6000 +49% +1Gi/48Gi +3% +47C +90W");
        assertThat(lines.get(8)).containsPattern("gpu-01 +0 +.* 0% ");
        assertThat(cli.run("top", "gpus", "--sort-by", "temperature").out().lines().skip(1).findFirst().orElseThrow())
                .containsPattern("gpu-01 +7 ");
        assertThat(cli.run("top", "gpus", "--sort-by", "fans").code()).isEqualTo(2);
        assertThat(cli.run("top", "hosts").code()).isEqualTo(2);
    }
}
