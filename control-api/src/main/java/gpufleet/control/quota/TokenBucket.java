package gpufleet.control.quota;

/**
 * A token bucket: holds up to {@code burst} tokens, refilled at {@code rate} per second; each
 * request takes one. Pure: the caller passes the time, so tests drive it without waiting.
 */
final class TokenBucket {
    private final double rate;
    private final double burst;
    private double tokens;
    private long lastNanos;

    TokenBucket(double rate, int burst, long nowNanos) {
        this.rate = rate;
        this.burst = burst;
        this.tokens = burst;
        this.lastNanos = nowNanos;
    }

    /** Takes a token: 0 when granted, otherwise the whole seconds until one will be there (at least 1). */
    synchronized long take(long nowNanos) {
        long elapsed = Math.max(0, nowNanos - lastNanos);
        tokens = Math.min(burst, tokens + elapsed / 1e9 * rate);
        lastNanos = Math.max(lastNanos, nowNanos);
        if (tokens >= 1) {
            tokens -= 1;
            return 0;
        }
        return Math.max(1, (long) Math.ceil((1 - tokens) / rate));
    }

    /** Full again: no request for as long as a whole refill takes. */
    synchronized boolean full(long nowNanos) {
        return tokens + Math.max(0, nowNanos - lastNanos) / 1e9 * rate >= burst;
    }
}
