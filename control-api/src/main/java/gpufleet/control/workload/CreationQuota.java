package gpufleet.control.workload;

import gpufleet.control.http.ApiException;
import gpufleet.control.quota.Quotas;
import gpufleet.control.quota.TenantLimits;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The tenants' workload quotas for a batch of creates. Counted either before the batch places
 * anything (the tenants' rows locked for the whole batch, and each create over the quota
 * refused), or after it has inserted its workloads, with the rows locked only from the count to
 * the commit. The second lets two batches of one tenant place their pods at the same time; it
 * is chosen only for tenants that had plenty of room at their last count, and a batch it finds
 * over the quota is undone and runs again the first way, which refuses the right creates.
 * <p>Both are exact: every committed create counted with its tenant's row locked, in its own
 * statement after taking the lock, so it saw every create committed before it. The room
 * remembered here only chooses the way; it is never trusted as a count.
 */
final class CreationQuota {
    /** Room a tenant must have had at its last count, beyond its creates in the batch, to count after placing. */
    static final long MARGIN = 2L * Creations.MAX_BATCH;

    /** The batch went over a tenant's quota after placing: undone, and run again counting first. */
    static final class Exceeded extends RuntimeException {
        Exceeded(String tenant) {
            super("tenant " + tenant + " passed its workload quota in a batch counted after placing", null, false, false);
        }
    }

    private final Quotas quotas;
    private final Map<String, Long> room = new ConcurrentHashMap<>();

    CreationQuota(Quotas quotas) {
        this.quotas = quotas;
    }

    /** True when every tenant of the batch had room for its creates and the margin at its last count. */
    boolean countAfter(Map<String, Long> createsPerTenant) {
        return createsPerTenant.entrySet().stream().allMatch(e -> room.getOrDefault(e.getKey(), -1L) >= e.getValue() + MARGIN);
    }

    /**
     * Counting first: locks the tenants, then keeps the creates that fit (in order) and gives the
     * others their refusal ({@code refuse}); a tenant that is gone refuses with 404.
     */
    <J> List<J> within(Connection c, List<J> jobs, Function<J, String> tenantOf, RefusalSink<J> refuse) throws SQLException {
        if (jobs.isEmpty()) {
            return jobs;
        }
        List<String> tenants = jobs.stream().map(tenantOf).distinct().sorted().toList();
        Map<String, TenantLimits> limits = quotas.lock(c, tenants);
        Map<String, Long> used = new HashMap<>(Quotas.liveWorkloads(c, tenants));
        List<J> out = new ArrayList<>();
        for (J j : jobs) {
            String t = tenantOf.apply(j);
            TenantLimits l = limits.get(t);
            long n = used.getOrDefault(t, 0L);
            ApiException refused = l == null ? ApiException.notFound("tenant " + t) : Quotas.workloadRefusal(t, n, l);
            if (refused != null) {
                refuse.refuse(j, refused);
            } else {
                used.put(t, n + 1);
                out.add(j);
            }
        }
        limits.forEach((t, l) -> room.put(t, l.maxWorkloads() - used.getOrDefault(t, 0L)));
        return out;
    }

    /**
     * Counting after placing: locks the tenants (in name order) and counts their live workloads,
     * this batch's included; throws {@link Exceeded} when one is over its quota.
     */
    void check(Connection c, List<String> tenants) throws SQLException {
        List<String> sorted = tenants.stream().distinct().sorted().toList();
        Map<String, TenantLimits> limits = quotas.lock(c, sorted);
        Map<String, Long> used = Quotas.liveWorkloads(c, sorted);
        for (String t : sorted) {
            TenantLimits l = limits.get(t);
            long n = used.getOrDefault(t, 0L);
            if (l == null || n > l.maxWorkloads()) {
                room.remove(t);
                throw new Exceeded(t);
            }
            room.put(t, l.maxWorkloads() - n);
        }
    }

    @FunctionalInterface
    interface RefusalSink<J> {
        void refuse(J job, ApiException refusal);
    }
}
