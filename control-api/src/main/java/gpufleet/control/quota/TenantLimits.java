package gpufleet.control.quota;

/** What one tenant may hold at once: live workloads, routes and concurrent streams. */
public record TenantLimits(int maxWorkloads, int maxRoutes, int maxStreams) {}
