package gpufleet.tenant.node;

import gpufleet.common.api.NodeResources;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.NodeCondition;
import io.fabric8.kubernetes.api.model.NodeConditionBuilder;
import io.fabric8.kubernetes.api.model.NodeStatus;
import io.fabric8.kubernetes.api.model.NodeStatusBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Taint;
import io.fabric8.kubernetes.api.model.TaintBuilder;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.TolerationBuilder;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The virtual node as Kubernetes sees it: labels, the taint that keeps ordinary pods away, and a
 * status whose capacity and allocatable are the provider's figures for this tenant.
 */
public final class VirtualNode {
    public static final String TAINT_KEY = "virtual-kubelet.io/provider";
    public static final String PROVIDER_CONDITION = "ProviderReachable";

    private VirtualNode() {}

    public static Map<String, String> labels(String nodeName) {
        Map<String, String> l = new LinkedHashMap<>();
        l.put("type", "virtual-kubelet");
        l.put("kubernetes.io/role", "agent");
        l.put("kubernetes.io/hostname", nodeName);
        l.put("kubernetes.io/os", "linux");
        l.put("kubernetes.io/arch", "amd64");
        return l;
    }

    public static Taint taint(String nodeName) {
        return new TaintBuilder().withKey(TAINT_KEY).withValue(nodeName).withEffect("NoSchedule").build();
    }

    /** What a pod needs to tolerate the node's taint (RuntimeClasses carry it). */
    public static Toleration toleration(String nodeName) {
        return new TolerationBuilder().withKey(TAINT_KEY).withOperator("Equal").withValue(nodeName).withEffect("NoSchedule").build();
    }

    /** A new Node object (no status: status goes through its subresource). */
    public static Node node(String nodeName) {
        return new NodeBuilder().withNewMetadata().withName(nodeName).withLabels(labels(nodeName)).endMetadata()
                .withNewSpec().withTaints(taint(nodeName)).endSpec().build();
    }

    /**
     * The node's status. {@code resources} null means the provider could not be asked: the figures
     * stay as they were and the ProviderReachable condition says why, while Ready stays True so
     * that Kubernetes does not evict pods that keep running at the provider.
     */
    public static NodeStatus status(NodeStatus previous, NodeResources resources, String unreachable, String address,
                                    int kubeletPort, Instant now) {
        Map<String, Quantity> capacity = previous == null || previous.getCapacity() == null ? Map.of() : previous.getCapacity();
        Map<String, Quantity> allocatable = previous == null || previous.getAllocatable() == null ? Map.of() : previous.getAllocatable();
        if (resources != null) {
            capacity = quantities(resources.capacity());
            allocatable = quantities(resources.allocatable());
        }
        List<NodeCondition> conditions = new ArrayList<>();
        conditions.add(condition(previous, "Ready", "True", "KubeletReady", "tenant-agent is posting ready status", now));
        conditions.add(condition(previous, "MemoryPressure", "False", "KubeletHasSufficientMemory", "no memory pressure", now));
        conditions.add(condition(previous, "DiskPressure", "False", "KubeletHasNoDiskPressure", "no disk pressure", now));
        conditions.add(condition(previous, "PIDPressure", "False", "KubeletHasSufficientPID", "no PID pressure", now));
        conditions.add(condition(previous, "NetworkUnavailable", "False", "RouteCreated", "pods run on the provider's network", now));
        conditions.add(unreachable == null
                ? condition(previous, PROVIDER_CONDITION, "True", "ControlApiReachable", "the GPU provider answers", now)
                : condition(previous, PROVIDER_CONDITION, "False", "ControlApiUnreachable", unreachable, now));
        return new NodeStatusBuilder()
                .withCapacity(capacity)
                .withAllocatable(allocatable)
                .withConditions(conditions)
                .addNewAddress().withType("InternalIP").withAddress(address).endAddress()
                .withNewDaemonEndpoints().withNewKubeletEndpoint().withPort(kubeletPort).endKubeletEndpoint().endDaemonEndpoints()
                .withNewNodeInfo().withArchitecture("amd64").withOperatingSystem("linux").withOsImage("GPU Fleet virtual node")
                .withKernelVersion("n/a").withContainerRuntimeVersion("docker://gpufleet").withKubeletVersion("v1.31.0-gpufleet")
                .withKubeProxyVersion("").withMachineID("").withSystemUUID("").withBootID("").endNodeInfo()
                .build();
    }

    private static Map<String, Quantity> quantities(Map<String, String> figures) {
        Map<String, Quantity> m = new LinkedHashMap<>();
        figures.forEach((k, v) -> m.put(k, new Quantity(v)));
        return m;
    }

    /** Keeps lastTransitionTime when the status did not change, as the kubelet does. */
    private static NodeCondition condition(NodeStatus previous, String type, String status, String reason, String message, Instant now) {
        String since = now.toString();
        if (previous != null && previous.getConditions() != null) {
            for (NodeCondition c : previous.getConditions()) {
                if (c.getType().equals(type) && status.equals(c.getStatus()) && c.getLastTransitionTime() != null) {
                    since = c.getLastTransitionTime();
                }
            }
        }
        return new NodeConditionBuilder().withType(type).withStatus(status).withReason(reason).withMessage(message)
                .withLastHeartbeatTime(now.toString()).withLastTransitionTime(since).build();
    }
}
