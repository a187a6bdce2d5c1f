package gpufleet.tenant.node;

import gpufleet.common.api.OfferingView;
import io.fabric8.kubernetes.api.model.node.v1.RuntimeClass;
import io.fabric8.kubernetes.api.model.node.v1.RuntimeClassBuilder;
import java.util.Map;

/** One RuntimeClass per offering: naming it is all a pod needs to land on the virtual node. */
public final class RuntimeClasses {
    public static final String MANAGED_BY = "app.kubernetes.io/managed-by";
    public static final String AGENT = "gpufleet-tenant-agent";
    public static final String HANDLER = "nvidia";

    private RuntimeClasses() {}

    public static RuntimeClass of(OfferingView o, String nodeName) {
        return new RuntimeClassBuilder()
                .withNewMetadata().withName(o.name()).withLabels(Map.of(MANAGED_BY, AGENT))
                .withAnnotations(o.annotations()).endMetadata()
                .withHandler(HANDLER)
                .withNewScheduling()
                .withNodeSelector(Map.of("type", "virtual-kubelet", "kubernetes.io/hostname", nodeName))
                .withTolerations(VirtualNode.toleration(nodeName))
                .endScheduling()
                .build();
    }

    /** Whether the class in the cluster already says what the offering says. */
    public static boolean same(RuntimeClass existing, RuntimeClass wanted) {
        return HANDLER.equals(existing.getHandler())
                && wanted.getMetadata().getAnnotations().equals(existing.getMetadata().getAnnotations())
                && wanted.getScheduling().equals(existing.getScheduling())
                && AGENT.equals(existing.getMetadata().getLabels() == null ? null : existing.getMetadata().getLabels().get(MANAGED_BY));
    }
}
