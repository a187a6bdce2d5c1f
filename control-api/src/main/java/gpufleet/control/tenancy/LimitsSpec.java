package gpufleet.control.tenancy;

import gpufleet.common.Invalid;
import gpufleet.control.config.QuotaSettings;

/**
 * An operator's limits for one tenant; each replaces the tenant's previous one, and a null (or
 * absent) one means the configured default. Zero is a limit too: the tenant may have none.
 */
public record LimitsSpec(Integer maxWorkloads, Integer maxRoutes, Integer maxStreams) {
    public LimitsSpec {
        check(maxWorkloads, "maxWorkloads");
        check(maxRoutes, "maxRoutes");
        check(maxStreams, "maxStreams");
    }

    private static void check(Integer limit, String field) {
        Invalid.check(limit == null || (limit >= 0 && limit <= QuotaSettings.MAX_LIMIT), field,
                field + " must be 0.." + QuotaSettings.MAX_LIMIT + " or null for the default; got " + limit);
    }
}
