package gpufleet.control.config;

import java.util.List;
import java.util.Map;

/**
 * What each tenant may hold and how fast it may call, unless an operator set its own limits:
 * live workloads, routes, concurrent streams (exec, attach, logs, port-forward), and a request
 * rate on the tenant API as a token bucket ({@code requestRate} per second, {@code requestBurst}
 * at once). The bucket is kept by each replica, so N replicas let a tenant N times the rate.
 */
public record QuotaSettings(int maxWorkloads, int maxRoutes, int maxStreams, double requestRate, int requestBurst) {
    static final Map<String, String> DEFAULTS = Map.of(
            "GPUFLEET_TENANT_MAX_WORKLOADS", "1000",
            "GPUFLEET_TENANT_MAX_ROUTES", "100",
            "GPUFLEET_TENANT_MAX_STREAMS", "64",
            // A tenant-agent syncing busily makes a few requests a second; a burst of pods a few hundred.
            "GPUFLEET_TENANT_REQUEST_RATE", "50",
            "GPUFLEET_TENANT_REQUEST_BURST", "500");

    /** The largest limit an operator may set, as the database's checks allow. */
    public static final int MAX_LIMIT = 1_000_000;

    static QuotaSettings read(Map<String, String> v, List<String> problems) {
        return new QuotaSettings(
                count(v, "GPUFLEET_TENANT_MAX_WORKLOADS", problems),
                count(v, "GPUFLEET_TENANT_MAX_ROUTES", problems),
                count(v, "GPUFLEET_TENANT_MAX_STREAMS", problems),
                rate(v, "GPUFLEET_TENANT_REQUEST_RATE", problems),
                burst(v, problems));
    }

    private static int burst(Map<String, String> v, List<String> problems) {
        int n = count(v, "GPUFLEET_TENANT_REQUEST_BURST", problems);
        if (n == 0) {
            problems.add("GPUFLEET_TENANT_REQUEST_BURST: must be at least 1 (a bucket that holds nothing refuses every request)");
        }
        return Math.max(1, n);
    }

    private static int count(Map<String, String> v, String key, List<String> problems) {
        String raw = String.valueOf(v.get(key)).trim();
        try {
            int n = Integer.parseInt(raw);
            if (n < 0 || n > MAX_LIMIT) {
                problems.add(key + ": " + n + " is outside 0.." + MAX_LIMIT);
            }
            return n;
        } catch (NumberFormatException e) {
            problems.add(key + ": '" + raw + "' is not a whole number");
            return 0;
        }
    }

    private static double rate(Map<String, String> v, String key, List<String> problems) {
        String raw = String.valueOf(v.get(key)).trim();
        try {
            double r = Double.parseDouble(raw);
            if (!(r > 0 && r <= 1_000_000)) {
                problems.add(key + ": " + raw + " must be more than 0 and at most 1000000 requests per second");
                return 1;
            }
            return r;
        } catch (NumberFormatException e) {
            problems.add(key + ": '" + raw + "' is not a number of requests per second");
            return 1;
        }
    }
}
