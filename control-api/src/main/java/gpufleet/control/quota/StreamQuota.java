package gpufleet.control.quota;

import gpufleet.control.db.Database;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Concurrent streams (logs, exec, attach, port-forward) per tenant. Each stream holds a permit
 * from before it reaches the host until it ends. Streams live on the replica that relays them,
 * so the count is this replica's: behind N replicas a tenant may hold up to N times its limit.
 */
public final class StreamQuota {
    private final Database db;
    private final Quotas quotas;
    private final Map<String, Integer> open = new ConcurrentHashMap<>();

    public StreamQuota(Database db, Quotas quotas) {
        this.db = db;
        this.quotas = quotas;
    }

    /** One open stream; closing it (once or more) gives the place back. */
    public final class Permit implements AutoCloseable {
        private final String tenant;
        private final AtomicBoolean released = new AtomicBoolean();

        private Permit(String tenant) {
            this.tenant = tenant;
        }

        @Override
        public void close() {
            if (released.compareAndSet(false, true)) {
                open.computeIfPresent(tenant, (t, n) -> n <= 1 ? null : n - 1);
            }
        }
    }

    /** A permit for one more stream of the tenant, or a 403 naming the quota when it holds its limit. */
    public Permit acquire(String tenant) {
        int limit = db.read(c -> {
            TenantLimits l = quotas.limits(c, tenant);
            return l.maxStreams();
        });
        int[] used = new int[1];
        open.compute(tenant, (t, n) -> {
            used[0] = n == null ? 0 : n;
            return used[0] < limit ? Integer.valueOf(used[0] + 1) : n; // boxed: n may be null (none open, limit 0)
        });
        if (used[0] >= limit) {
            throw QuotaExceeded.of("concurrent streams", tenant, 1, used[0], limit,
                    "end a logs, exec, attach or port-forward session, or ask the operator to raise maxStreams");
        }
        return new Permit(tenant);
    }

    /** Open streams on this replica, all tenants together. */
    public int openTotal() {
        int n = 0;
        for (int v : open.values()) {
            n += v;
        }
        return n;
    }

    /** The tenant's open streams on this replica. */
    public int open(String tenant) {
        return open.getOrDefault(tenant, 0);
    }
}
