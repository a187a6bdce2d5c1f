package gpufleet.gpuctl;

import static org.assertj.core.api.Assertions.assertThat;

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

/** gpuctl approve host, and what gpuctl describe host shows of a held inventory, against a real control-api. */
class GpuctlApproveIT {
    static ApiFixture fx;
    static Cli cli;

    @BeforeAll
    static void start(@TempDir Path home) {
        fx = ApiFixture.start();
        cli = Cli.against(fx, home);
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    @Test
    void approveHostTakesInTheGpusAHostReportedBeyondItsApprovalAndDescribeShowsBothSides() {
        Host host = fx.seedHost("gpu-approve");
        List<GpuReport> ten = new ArrayList<>(Inventories.seedPool("gpu-approve", 2).gpus());
        ten.add(Inventories.gpu("gpu-approve", 8, Inventories.A6000, true, null));
        ten.add(Inventories.gpu("gpu-approve", 9, Inventories.A6000, true, null));
        fx.report(host, Inventories.withGpus(Inventories.seedPool("gpu-approve", 2), 2, ten));

        String held = cli.run("describe", "host", "gpu-approve").out();
        assertThat(held).containsPattern("Address: +127\\.0\\.0\\.1")
                .containsPattern("GPUs: +8 \\(8 free")
                .containsPattern("InventoryApproved +False +GpusAdded +held, never placed onto, until an operator approves"
                        + " \\(gpuctl approve host gpu-approve\\): 2 GPU\\(s\\) beyond the approved 8 x NVIDIA RTX A6000")
                .containsPattern("Warning +InventoryHeld +" + Cli.AGE + " +host gpu-approve reports GPUs it is not approved for");

        Cli.Result r = cli.run("approve", "host", "gpu-approve");
        assertThat(r.code()).as(r.toString()).isZero();
        assertThat(r.out()).startsWith("host/gpu-approve approved: 2 GPU(s); approved now: 10 x NVIDIA RTX A6000\n")
                .contains("  " + Inventories.uuid("gpu-approve", 8) + " (NVIDIA RTX A6000)");
        String approved = cli.run("describe", "host", "gpu-approve").out();
        assertThat(approved).containsPattern("GPUs: +10 \\(10 free")
                .containsPattern("InventoryApproved +True +Approved +approved: 10 x NVIDIA RTX A6000")
                .containsPattern("Normal +InventoryApproved +" + Cli.AGE + " +operator token .* approved 2 GPU\\(s\\) on host gpu-approve");

        assertThat(cli.run("approve", "host", "gpu-approve").out())
                .isEqualTo("host/gpu-approve has nothing held for approval (approved: 10 x NVIDIA RTX A6000)\n");
        assertThat(cli.run("approve", "host", "gpu-99").code()).isEqualTo(3);
        assertThat(cli.run("approve", "tenant", "gpu-approve").code()).isEqualTo(2);
    }
}
