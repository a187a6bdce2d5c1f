package gpufleet.common.api;

import java.util.List;

/** Everything a host should be running, at a version that grows with every change. */
public record HostDesired(long version, List<HostWorkload> workloads) {}
