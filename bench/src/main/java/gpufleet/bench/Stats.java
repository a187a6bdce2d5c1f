package gpufleet.bench;

import java.util.Arrays;

/** Latencies of one phase: count, rate, percentiles. */
final class Stats {
    private long[] nanos = new long[1 << 16];
    private int n;
    private long errors;

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
