package gpufleet.tenant.node;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The kube-scheduler's NodeResourcesFit filter with its pod count, written here from the rule
 * (fitsRequest in kube-scheduler's noderesources plugin) and independent of the tenant-agent's
 * code: a node refuses a pod when its pods number one more than allocatable allows ("Too many
 * pods"), or when, for a resource the pod requests, the pod's request plus the requests of the
 * node's pods is above allocatable ("Insufficient cpu"). The node's pods are those bound to it
 * and not Succeeded or Failed (the scheduler's informer leaves those out). The test pods have
 * regular containers only, so a pod's request is the sum of its containers'.
 */
final class SchedulerFit {
    private SchedulerFit() {}

    /** The scheduler's reasons for refusing {@code pod} on {@code node}; empty when it fits. */
    static List<String> refusals(Pod pod, Node node, List<Pod> pods) {
        List<Pod> onNode = pods.stream().filter(p -> node.getMetadata().getName().equals(p.getSpec().getNodeName()))
                .filter(p -> p.getStatus() == null || !List.of("Succeeded", "Failed").contains(p.getStatus().getPhase())).toList();
        Map<String, BigDecimal> allocatable = new HashMap<>();
        node.getStatus().getAllocatable().forEach((k, v) -> allocatable.put(k, Quantity.getAmountInBytes(v)));
        List<String> out = new ArrayList<>();
        if (onNode.size() + 1 > allocatable.getOrDefault("pods", BigDecimal.ZERO).intValue()) {
            out.add("Too many pods");
        }
        Map<String, BigDecimal> wanted = requests(pod);
        Map<String, BigDecimal> used = new HashMap<>();
        onNode.forEach(p -> requests(p).forEach((k, v) -> used.merge(k, v, BigDecimal::add)));
        for (String r : new TreeSet<>(wanted.keySet())) {
            BigDecimal need = wanted.get(r).add(used.getOrDefault(r, BigDecimal.ZERO));
            if (wanted.get(r).signum() > 0 && allocatable.getOrDefault(r, BigDecimal.ZERO).compareTo(need) < 0) {
                out.add("Insufficient " + r);
            }
        }
        return out;
    }

    /** Requests by resource; a request left out is its limit, as the API server defaults it. */
    private static Map<String, BigDecimal> requests(Pod pod) {
        Map<String, BigDecimal> sum = new HashMap<>();
        for (Container c : pod.getSpec().getContainers()) {
            Map<String, Quantity> given = new HashMap<>();
            if (c.getResources().getLimits() != null) {
                given.putAll(c.getResources().getLimits());
            }
            if (c.getResources().getRequests() != null) {
                given.putAll(c.getResources().getRequests());
            }
            given.forEach((k, v) -> sum.merge(k, Quantity.getAmountInBytes(v), BigDecimal::add));
        }
        return sum;
    }
}
