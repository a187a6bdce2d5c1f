package gpufleet.control.workload;

import static org.assertj.core.api.Assertions.assertThat;

import gpufleet.control.quota.Quotas;
import gpufleet.control.support.StatementPlans;
import gpufleet.control.support.StatementPlans.Case;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A batch of creates runs its statements with generic plans and no table scans (planned once per
 * connection, see Creations), so each must find its rows by key whatever the statistics: on an
 * empty, a freshly filled and an analyzed fleet ({@link StatementPlans}). Without the settings,
 * the count of a lone tenant's live workloads became a scan of the whole table after ANALYZE. The placement statements of the batch
 * are checked by PlacementPlansIT; those reading only offerings and tenants (a provider's few
 * hundred rows, where a scan is the right plan) are not checked.
 */
class CreationPlansIT {
    private static final List<Case> CASES = List.of(
            new Case("pods already workloads", Creations.EXISTING, "text[], text[]", "ARRAY['plans'], ARRAY['GPU-x']",
                    List.of("workloads_tenant_pod_uid_key")),
            new Case("live workloads per tenant", Quotas.LIVE_WORKLOADS, "text[]", "ARRAY['plans']",
                    List.of("Index Cond: (tenant = t.tenant)")),
            new Case("the workloads' views", WorkloadViews.BY_IDS, "uuid[]", "ARRAY[gen_random_uuid()]",
                    List.of("workloads_pkey", "gpu_allocations_workload")));

    @Test
    void everyStatementOfABatchUsesItsIndexesOnAnEmptyAFreshlyFilledAndAnAnalyzedTable() throws Exception {
        StatementPlans.check(Creations.SETTINGS, CASES, (x, why) -> {
            if (x.sql().equals(Quotas.LIVE_WORKLOADS)) {
                // Counted from an index of live workloads only (workloads_live_by_tenant or
                // workloads_tenant_cluster), never by reading every workload of the tenant.
                assertThat(why).contains("Index Only Scan").doesNotContain("Filter");
            }
        });
    }
}
