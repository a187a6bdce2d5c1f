package gpufleet.tenant.node;

import static org.assertj.core.api.Assertions.assertThat;

import gpufleet.common.api.NodeResources;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import java.math.BigDecimal;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The node's figures from the provider's and the node's pods: the seed's numbers, as the scheduler reads them. */
class NodeFiguresTest {
    static final Map<String, String> SEED_CAPACITY = Map.of("cpu", "63", "memory", "263567056Ki", "nvidia.com/gpu", "8", "pods", "8");
    /** The provider's free figures once the seed's pod (1 GPU, cpu 2, 16Gi at its limits) holds its share. */
    static final Map<String, String> SEED_FREE = Map.of("cpu", "61", "memory", "246789840Ki", "nvidia.com/gpu", "7", "pods", "7");
    static final Map<String, String> NOTHING = Map.of("cpu", "0", "memory", "0", "nvidia.com/gpu", "0", "pods", "0");

    static Pod pod(String phase, Map<String, String> requests, Map<String, String> limits) {
        return new PodBuilder().withNewMetadata().withName("p").endMetadata().withNewSpec().withNodeName("k8s.gpu")
                .addToContainers(new ContainerBuilder().withName("main").withNewResources()
                        .withRequests(quantities(requests)).withLimits(quantities(limits)).endResources().build())
                .endSpec().withNewStatus().withPhase(phase).endStatus().build();
    }

    static Map<String, Quantity> quantities(Map<String, String> m) {
        Map<String, Quantity> q = new java.util.HashMap<>();
        m.forEach((k, v) -> q.put(k, new Quantity(v)));
        return q;
    }

    /** What `kubectl describe node` shows as free: allocatable less the requests of the node's counted pods. */
    static Map<String, Long> freeForScheduler(NodeResources node, NodeFigures.Counted c) {
        Map<String, String> a = node.allocatable();
        return Map.of("cpu", millis(a.get("cpu")) - c.cpuMillis(), "memory", bytes(a.get("memory")) - c.memoryBytes(),
                "nvidia.com/gpu", Long.parseLong(a.get("nvidia.com/gpu")) - c.gpus(), "pods", Long.parseLong(a.get("pods")) - c.pods());
    }

    static long millis(String q) {
        return Quantity.getAmountInBytes(new Quantity(q)).movePointRight(3).longValueExact();
    }

    static long bytes(String q) {
        return Quantity.getAmountInBytes(new Quantity(q)).longValueExact();
    }

    @Test
    void theSeedsPodIsCountedOnceSoTheSchedulerSeesTheSeedsNumbersFree() {
        Pod seed = pod("Running", Map.of(), Map.of("nvidia.com/gpu", "1", "memory", "16Gi", "cpu", "2"));
        NodeFigures.Counted counted = NodeFigures.counted(List.of(seed), "k8s.gpu");
        NodeResources node = NodeFigures.forNode(new NodeResources(SEED_CAPACITY, SEED_FREE, NOTHING), counted);
        assertThat(node.capacity()).isEqualTo(SEED_CAPACITY);
        assertThat(node.allocatable()).isEqualTo(SEED_CAPACITY);
        assertThat(freeForScheduler(node, counted)).isEqualTo(Map.of("cpu", 61_000L, "memory", bytes("246789840Ki"),
                "nvidia.com/gpu", 7L, "pods", 7L));
    }

    @Test
    void requestsBelowLimitsLowerAllocatableByTheDifferenceTheProviderHolds() {
        // cpu 500m / memory 1Gi requested, cpu 2 / memory 4Gi limits: the provider holds the limits.
        Pod p = pod("Running", Map.of("cpu", "500m", "memory", "1Gi", "nvidia.com/gpu", "1"),
                Map.of("cpu", "2", "memory", "4Gi", "nvidia.com/gpu", "1"));
        NodeFigures.Counted counted = NodeFigures.counted(List.of(p), "k8s.gpu");
        Map<String, String> free = Map.of("cpu", "61", "memory", (263567056L - 4 * 1024 * 1024) + "Ki", "nvidia.com/gpu", "7", "pods", "7");
        NodeResources node = NodeFigures.forNode(new NodeResources(SEED_CAPACITY, free, NOTHING), counted);
        assertThat(node.allocatable().get("cpu")).as("63 - (2 - 0.5)").isEqualTo("61500m");
        assertThat(freeForScheduler(node, counted)).containsEntry("cpu", 61_000L).containsEntry("nvidia.com/gpu", 7L)
                .containsEntry("memory", bytes("263567056Ki") - bytes("4Gi"));
    }

    @Test
    void unplacedWorkloadsKeepTheirRoomAndFinishedPodsAreNotCounted() {
        Pod waiting = pod("Pending", Map.of(), Map.of("nvidia.com/gpu", "1", "memory", "16Gi", "cpu", "2"));
        Pod done = pod("Succeeded", Map.of(), Map.of("nvidia.com/gpu", "1", "memory", "16Gi", "cpu", "2"));
        NodeFigures.Counted counted = NodeFigures.counted(List.of(waiting, done), "k8s.gpu");
        assertThat(counted).isEqualTo(new NodeFigures.Counted(2_000, bytes("16Gi"), 1, 1));
        Map<String, String> held = Map.of("cpu", "2", "memory", "16Gi", "nvidia.com/gpu", "1", "pods", "1");
        NodeResources node = NodeFigures.forNode(new NodeResources(SEED_CAPACITY, SEED_CAPACITY, held), counted);
        assertThat(freeForScheduler(node, counted)).containsEntry("cpu", 61_000L).containsEntry("nvidia.com/gpu", 7L)
                .containsEntry("pods", 7L);
    }

    @Test
    void neverAboveCapacityNorBelowZero() {
        Pod p = pod("Running", Map.of(), Map.of("nvidia.com/gpu", "1", "memory", "16Gi", "cpu", "2"));
        NodeFigures.Counted counted = NodeFigures.counted(List.of(p), "k8s.gpu");
        assertThat(NodeFigures.forNode(new NodeResources(SEED_CAPACITY, SEED_CAPACITY, NOTHING), counted).allocatable())
                .as("a pod that finished at the provider, still Running in the cluster").isEqualTo(SEED_CAPACITY);
        assertThat(NodeFigures.forNode(new NodeResources(SEED_CAPACITY, NOTHING, SEED_CAPACITY), NodeFigures.Counted.NONE)
                .allocatable()).isEqualTo(Map.of("cpu", "0", "memory", "0", "nvidia.com/gpu", "0", "pods", "0"));
    }

    @Test
    void initContainersCountAtTheirPeakAndSidecarsBesideTheContainers() {
        Pod p = new PodBuilder().withNewSpec()
                .addToInitContainers(new ContainerBuilder().withName("download").withNewResources()
                        .withRequests(quantities(Map.of("cpu", "3", "memory", "1Gi"))).endResources().build())
                .addToInitContainers(new ContainerBuilder().withName("proxy").withRestartPolicy("Always").withNewResources()
                        .withRequests(quantities(Map.of("cpu", "500m", "memory", "256Mi"))).endResources().build())
                .addToContainers(new ContainerBuilder().withName("main").withNewResources()
                        .withRequests(quantities(Map.of("cpu", "1", "memory", "2Gi"))).endResources().build())
                .withOverhead(quantities(Map.of("cpu", "100m")))
                .endSpec().build();
        Map<String, BigDecimal> r = PodRequests.of(p);
        assertThat(PodRequests.counted(r, "cpu", new BigDecimal("0.001"))).as("max(3, 1 + 0.5) + 0.1").isEqualTo(3_100);
        assertThat(PodRequests.counted(r, "memory", BigDecimal.ONE)).as("max(1Gi, 2Gi + 256Mi)").isEqualTo(bytes("2304Mi"));
    }
}
