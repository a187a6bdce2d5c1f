package gpufleet.tenant.node;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import java.math.BigDecimal;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What the kube-scheduler counts for a pod on a node, worked out the way it does: the regular
 * containers' requests add up; init containers run one at a time, so the pod needs the largest
 * of them, each with the sidecars (init containers with restartPolicy Always) started before
 * it; sidecars also run beside the regular containers; the RuntimeClass overhead comes on top.
 * A request left out where a limit is given is the limit, as the API server defaults it.
 */
public final class PodRequests {
    private PodRequests() {}

    /** Resource name to amount in base units (cores, bytes, devices). */
    public static Map<String, BigDecimal> of(Pod pod) {
        Map<String, BigDecimal> total = new HashMap<>();
        for (Container c : orEmpty(pod.getSpec().getContainers())) {
            add(total, requests(c));
        }
        Map<String, BigDecimal> sidecars = new HashMap<>();
        Map<String, BigDecimal> initPeak = new HashMap<>();
        for (Container c : orEmpty(pod.getSpec().getInitContainers())) {
            Map<String, BigDecimal> own = requests(c);
            if ("Always".equals(c.getRestartPolicy())) {
                add(total, own);
                add(sidecars, own);
                max(initPeak, sidecars);
            } else {
                Map<String, BigDecimal> during = new HashMap<>(own);
                add(during, sidecars);
                max(initPeak, during);
            }
        }
        max(total, initPeak);
        if (pod.getSpec().getOverhead() != null) {
            add(total, amounts(pod.getSpec().getOverhead()));
        }
        return total;
    }

    /** The amount counted for one resource, rounded up to whole units of {@code unit} (0.001 for millicores). */
    public static long counted(Map<String, BigDecimal> requests, String resource, BigDecimal unit) {
        BigDecimal v = requests.getOrDefault(resource, BigDecimal.ZERO);
        return v.divide(unit, 0, java.math.RoundingMode.CEILING).longValueExact();
    }

    private static Map<String, BigDecimal> requests(Container c) {
        Map<String, BigDecimal> m = new HashMap<>();
        if (c.getResources() == null) {
            return m;
        }
        if (c.getResources().getLimits() != null) {
            m.putAll(amounts(c.getResources().getLimits()));
        }
        if (c.getResources().getRequests() != null) {
            m.putAll(amounts(c.getResources().getRequests()));
        }
        return m;
    }

    private static Map<String, BigDecimal> amounts(Map<String, Quantity> q) {
        Map<String, BigDecimal> m = new HashMap<>();
        q.forEach((k, v) -> m.put(k, Quantity.getAmountInBytes(v)));
        return m;
    }

    private static void add(Map<String, BigDecimal> into, Map<String, BigDecimal> more) {
        more.forEach((k, v) -> into.merge(k, v, BigDecimal::add));
    }

    private static void max(Map<String, BigDecimal> into, Map<String, BigDecimal> other) {
        other.forEach((k, v) -> into.merge(k, v, BigDecimal::max));
    }

    private static <T> List<T> orEmpty(List<T> l) {
        return l == null ? List.of() : l;
    }
}
