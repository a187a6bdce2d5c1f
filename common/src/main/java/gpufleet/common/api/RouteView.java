package gpufleet.common.api;

import java.time.Instant;
import java.util.List;

/**
 * A route as the control-api shows it: the public name, the Service behind it, its targets and
 * how many of them can take requests now (running, on a ready host, port published).
 */
public record RouteView(String tenant, String serviceUid, String namespace, String name, String hostname, int port,
                        List<RouteSpec.Target> targets, int readyTargets, Instant updatedAt) {}
