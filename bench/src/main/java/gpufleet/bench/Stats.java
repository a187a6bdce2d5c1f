package gpufleet.bench;

import java.util.Arrays;

/** Latencies of one phase: count, rate, percentiles. */
final class Stats {
    private long[] nanos = new long[1 << 16];
    private int n;
    private long errors;

    /**
     * p50 and p99 of {@code nanos} without its first entry (a warm-up, shown apart), beside the
     * target p99 in milliseconds.
     */
    static String afterWarmUp(long[] nanos, long targetP99Millis) {
        long[] s = Arrays.copyOfRange(nanos, 1, nanos.length);
        Arrays.sort(s);
        int n = s.length;
        return String.format("  p50 %.0f ms   p99 %.0f ms   (target p99 < %d ms; Kubernetes' SLO: 5 s); warm-up %.0f ms",
                s[n / 2] / 1e6, s[(int) Math.ceil(0.99 * n) - 1] / 1e6, targetP99Millis, nanos[0] / 1e6);
    }

    synchronized void add(long latencyNanos) {
        if (n == nanos.length) {
            nanos = Arrays.copyOf(nanos, n * 2);
        }
        nanos[n++] = latencyNanos;
    }

    synchronized void error() {
        errors++;
    }

    synchronized long count() {
        return n;
    }

    synchronized long errors() {
        return errors;
    }

    synchronized double percentileMillis(double p) {
        if (n == 0) {
            return Double.NaN;
        }
        long[] sorted = Arrays.copyOf(nanos, n);
        Arrays.sort(sorted);
        int idx = (int) Math.min(n - 1, Math.ceil(p / 100.0 * n) - 1);
        return sorted[Math.max(0, idx)] / 1e6;
    }
}
