package gpufleet.control.placement;

import static org.assertj.core.api.Assertions.assertThat;

import gpufleet.control.support.StatementPlans;
import gpufleet.control.support.StatementPlans.Case;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The placement statements keep their plan whatever the statistics ({@link StatementPlans}): on
 * an empty, a freshly filled and an analyzed fleet, generic and custom plans alike.
 */
class PlacementPlansIT {
    private static final String HOST = StatementPlans.HOST;
    private static final List<Case> CASES = List.of(
            new Case("candidate search, 1 GPU", Placer.lockCandidateSql(true), "text, int, text, uuid[], bigint, bigint, int",
                    "'M1', 1, 'M1', '{}', 1000, 1000, 1", List.of("host_free_fit", "hosts_pkey", "host_inventory_pkey", "host_usage_pkey")),
            new Case("candidate search, 8 GPUs", Placer.lockCandidateSql(true), "text, int, text, uuid[], bigint, bigint, int",
                    "'M2', 8, 'M2', '{}', 1000, 1000, 4", List.of("host_free_fit", "hosts_pkey", "host_usage_pkey")),
            new Case("locked hosts' free GPUs", Placer.FRESH, "uuid[], text[], boolean",
                    "ARRAY[" + HOST + "], ARRAY['M1'], true", List.of("hosts_pkey", "host_inventory_pkey", "host_usage_pkey", "gpu_allocations_live")),
            new Case("allocations and flags", Placer.WRITE, "text[], text[], uuid[], text[], text[]",
                    "'{}', '{}', '{}', '{}', ARRAY['GPU-x']", List.of("gpus_pkey", "workloads_pkey")),
            new Case("a host's version", Placer.BUMP, "uuid", HOST, List.of("hosts_pkey")),
            new Case("the batch's Scheduled events", PlacementBatch.SCHEDULED, "uuid[]", "ARRAY[gen_random_uuid()]",
                    List.of("workloads_pkey", "hosts_pkey")),
            new Case("a workload's host", Placer.PLACED, "uuid, uuid", HOST + ", gen_random_uuid()", List.of("workloads_pkey")));

    @Test
    void everyPlacementStatementUsesItsIndexesOnAnEmptyAFreshlyFilledAndAnAnalyzedTable() throws Exception {
        StatementPlans.check(CASES, (x, why) -> {
            if (x.sql().equals(Placer.lockCandidateSql(true)) || x.sql().equals(Placer.FRESH)) {
                // A host's use comes from host_usage by key, never from its workloads.
                assertThat(why).doesNotContain("on workloads");
            }
            if (x.sql().equals(Placer.lockCandidateSql(true))) {
                // Hosts with free GPUs are walked in index order, never all fetched and sorted.
                assertThat(why).doesNotContain("Sort").doesNotContain("Bitmap Heap Scan");
            }
        });
    }
}
