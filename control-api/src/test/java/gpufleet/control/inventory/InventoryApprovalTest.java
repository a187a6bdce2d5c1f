package gpufleet.control.inventory;

import static org.assertj.core.api.Assertions.assertThat;

import gpufleet.common.api.GpuReport;
import gpufleet.control.support.Inventories;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** How a report splits into approved and held GPUs, and the condition that names the held ones. */
class InventoryApprovalTest {
    static final String A = Inventories.A6000;
    static final String B = Inventories.A100;

    static GpuReport gpu(int i, String model) {
        return Inventories.gpu("split", i, model, true, null);
    }

    @Test
    void theFirstInventoryIsApprovedAsReported() {
        InventoryApproval.Split s = InventoryApproval.split(Map.of(), List.of(gpu(0, A), gpu(1, B)));
        assertThat(s.approved()).hasSize(2);
        assertThat(s.held()).isEmpty();
    }

    @Test
    void newUuidsAndOtherModelsAreHeldAndFewerGpusNeedNoApproval() {
        Map<String, String> approved = Map.of(gpu(0, A).uuid(), A, gpu(1, A).uuid(), A);
        InventoryApproval.Split s = InventoryApproval.split(approved, List.of(gpu(0, A), gpu(1, B), gpu(2, A)));
        assertThat(s.approved()).extracting(GpuReport::uuid).containsExactly(gpu(0, A).uuid());
        assertThat(s.held()).extracting(InventoryApproval.Held::change).containsExactly("model", "added");
        assertThat(InventoryApproval.split(approved, List.of(gpu(1, A))).held()).as("a shrink").isEmpty();

        var c = InventoryApproval.condition("gpu-07", approved, s.held());
        assertThat(c.status()).isEqualTo("False");
        assertThat(c.reason()).isEqualTo("GpusAddedAndModelChanged");
        assertThat(c.message()).contains("1 GPU(s) beyond the approved 2 x " + A, gpu(2, A).uuid(),
                gpu(1, B).uuid() + " reported as " + B + ", approved as " + A);
    }

    @Test
    void aGpuThatFailedSoBadlyItsModelReadsUnknownIsOnlyUnhealthy() {
        Map<String, String> approved = Map.of(gpu(0, A).uuid(), A);
        GpuReport lost = Inventories.gpu("split", 0, "unknown", false, "GPU is lost");
        InventoryApproval.Split s = InventoryApproval.split(approved, List.of(lost));
        assertThat(s.held()).isEmpty();
        assertThat(s.approved()).singleElement().satisfies(g -> {
            assertThat(g.name()).as("it keeps its approved model").isEqualTo(A);
            assertThat(g.healthy()).isFalse();
            assertThat(g.healthReason()).isEqualTo("GPU is lost");
        });
    }

    @Test
    void aConditionNamingManyGpusStaysWithinItsLimitAndAHostCannotClaimIt() {
        List<GpuReport> many = new java.util.ArrayList<>();
        for (int i = 0; i < 64; i++) {
            many.add(gpu(i, "NVIDIA A model name long enough to make the message long " + i));
        }
        var held = InventoryApproval.split(Map.of("GPU-other", A), many).held();
        var c = InventoryApproval.condition("gpu-07", Map.of("GPU-other", A), held);
        assertThat(c.message()).hasSizeLessThanOrEqualTo(1024).contains("and 60 more");
        var claimed = new gpufleet.common.api.HostCondition(InventoryApproval.CONDITION, "True", "Approved", "trust me");
        assertThat(InventoryApproval.withCondition(List.of(claimed), c)).containsExactly(c);
    }
}
