package gpufleet.control.quota;

import gpufleet.control.auth.Access;
import gpufleet.control.auth.Principal;
import gpufleet.control.auth.Role;
import gpufleet.control.config.QuotaSettings;
import gpufleet.control.http.ApiException;
import gpufleet.control.http.ErrorKind;
import io.javalin.http.Context;
import java.math.BigDecimal;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The request rate of each tenant on the API, one token bucket per tenant (all its tokens share
 * it, so minting more tokens buys no more rate). Past it: 429 with Retry-After in seconds.
 * Operators and hosts are not limited here. Buckets are this replica's: behind N replicas that
 * share the load a tenant gets up to N times the rate, which is documented for operators.
 */
public final class RateLimit {
    /** Buckets idle this long are full again and are dropped, so the map holds only active tenants. */
    private static final int SWEEP_EVERY = 4096;

    private final QuotaSettings settings;
    private final Map<String, TokenBucket> buckets = new ConcurrentHashMap<>();
    private final AtomicLong calls = new AtomicLong();

    public RateLimit(QuotaSettings settings) {
        this.settings = settings;
    }

    /** Before-handler, after authentication: takes a token from the calling tenant's bucket. */
    public void check(Context ctx) {
        Principal p = Access.principal(ctx);
        if (p.role() != Role.TENANT) {
            return;
        }
        long now = System.nanoTime();
        long retryAfter = buckets.computeIfAbsent(p.tenant(), t -> new TokenBucket(settings.requestRate(), settings.requestBurst(), now))
                .take(now);
        sweep(now);
        if (retryAfter > 0) {
            ctx.header("Retry-After", Long.toString(retryAfter));
            throw new ApiException(ErrorKind.TOO_MANY_REQUESTS, "tenant " + p.tenant() + " is over its request rate of "
                    + BigDecimal.valueOf(settings.requestRate()).stripTrailingZeros().toPlainString() + "/s (bursts of " + settings.requestBurst() + "); retry after " + retryAfter + " s");
        }
    }

    private void sweep(long now) {
        if (calls.incrementAndGet() % SWEEP_EVERY == 0) {
            buckets.values().removeIf(b -> b.full(now));
        }
    }
}
