package gpufleet.common.api;

import gpufleet.common.Invalid;
import gpufleet.common.Names;
import java.util.List;

/**
 * A LoadBalancer Service as the tenant-agent sends it: where it lives, its port, and the pods
 * behind it, each with the container port the Service's targetPort resolves to on that pod.
 */
public record RouteSpec(String namespace, String name, Integer port, List<Target> targets) {
    public RouteSpec {
        Names.label(namespace, "namespace", 63);
        Names.label1035(name, "name");
        Invalid.required(port, "port");
        Invalid.check(port >= 1 && port <= 65535, "port", "port must be 1..65535, got " + port);
        targets = targets == null ? List.of() : List.copyOf(targets);
        Invalid.check(targets.size() <= 256, "targets", "a route has at most 256 targets");
    }

    /** One pod behind the Service and the container port the Service sends to. */
    public record Target(String podUid, Integer port) {
        public Target {
            Names.podUid(podUid, "podUid");
            Invalid.required(port, "port");
            Invalid.check(port >= 1 && port <= 65535, "port", "target port must be 1..65535, got " + port);
        }
    }
}
