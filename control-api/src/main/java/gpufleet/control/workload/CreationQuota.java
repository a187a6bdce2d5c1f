package gpufleet.control.workload;

import gpufleet.control.db.Pipeline;
import gpufleet.control.http.ApiException;
import gpufleet.control.quota.Quotas;
import gpufleet.control.quota.TenantLimits;
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

    /** The tenants' limits and live workloads, read by the steps {@link #count} added, once they ran. */
    static final class Count {
        private final Map<String, TenantLimits> limits = new HashMap<>();
        private final Map<String, Long> used = new HashMap<>();
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
     * Adds the steps that lock the tenants' rows (in name order) and then count their live
     * workloads: the count, a statement of its own after the lock, sees every create committed
     * before the lock was granted, and this transaction's own.
     */
    Count count(Pipeline steps, List<String> tenants) {
        List<String> sorted = tenants.stream().distinct().sorted().toList();
        Count n = new Count();
        steps.add(Quotas.LOCK, b -> b.array(1, "text", sorted), rs -> {
            while (rs.next()) {
                n.limits.put(rs.getString(1), quotas.limits(rs));
            }
        });
        steps.add(Quotas.LIVE_WORKLOADS, b -> b.array(1, "text", sorted), rs -> {
            while (rs.next()) {
                n.used.put(rs.getString(1), rs.getLong(2));
            }
        });
        return n;
    }

    /**
     * Counting first, with the count made before the batch placed anything: keeps the creates
     * that fit (in order) and gives the others their refusal ({@code refuse}); a tenant that is
     * gone refuses with 404.
     */
    <J> List<J> within(Count count, List<J> jobs, Function<J, String> tenantOf, RefusalSink<J> refuse) {
        Map<String, Long> used = new HashMap<>(count.used);
        List<J> out = new ArrayList<>();
        for (J j : jobs) {
            String t = tenantOf.apply(j);
            TenantLimits l = count.limits.get(t);
            long n = used.getOrDefault(t, 0L);
            ApiException refused = l == null ? ApiException.notFound("tenant " + t) : Quotas.workloadRefusal(t, n, l);
            if (refused != null) {
                refuse.refuse(j, refused);
            } else {
                used.put(t, n + 1);
                out.add(j);
            }
        }
        count.limits.forEach((t, l) -> room.put(t, l.maxWorkloads() - used.getOrDefault(t, 0L)));
        return out;
    }

    /** Counting after placing, with the count made after the batch's inserts: throws {@link Exceeded} when a tenant is over. */
    void check(Count count, List<String> tenants) {
        for (String t : tenants) {
            TenantLimits l = count.limits.get(t);
            long n = count.used.getOrDefault(t, 0L);
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
