package gpufleet.control.tenancy;

import static org.assertj.core.api.Assertions.assertThat;

import gpufleet.common.Quantity;
import gpufleet.common.api.NodeResources;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The seed's arithmetic for the virtual node. */
class NodeCapacityTest {
    static final long CPU = 63_000;
    static final long MEMORY = Quantity.bytes("263567056Ki", "memory");

    @Test
    void anEmptyPoolOfEightA6000() {
        NodeResources r = NodeCapacity.of(new NodeCapacity.Pool(CPU, MEMORY, 8, 0, 0, 0, 0));
        Map<String, String> expected = Map.of("cpu", "63", "memory", "263567056Ki", "nvidia.com/gpu", "8", "pods", "8");
        assertThat(r.capacity()).isEqualTo(expected);
        assertThat(r.allocatable()).isEqualTo(expected);
    }

    @Test
    void afterOnePodWithOneGpuTwoCpusAndSixteenGi() {
        NodeResources r = NodeCapacity.of(new NodeCapacity.Pool(CPU, MEMORY, 8, 0, 2_000,
                Quantity.bytes("16Gi", "memory"), 1));
        assertThat(r.allocatable()).isEqualTo(Map.of("cpu", "61", "memory", "246789840Ki", "nvidia.com/gpu", "7", "pods", "7"));
        assertThat(r.capacity().get("pods")).isEqualTo("8");
    }

    @Test
    void whenEverythingIsTakenAsInTheSeed() {
        long usedMemory = MEMORY - Quantity.bytes("360456Ki", "memory");
        NodeResources r = NodeCapacity.of(new NodeCapacity.Pool(CPU, MEMORY, 8, 0, 61_000, usedMemory, 8));
        assertThat(r.allocatable()).isEqualTo(Map.of("cpu", "2", "memory", "360456Ki", "nvidia.com/gpu", "0", "pods", "0"));
    }

    @Test
    void unhealthyGpusLeaveAllocatableButNotCapacity() {
        NodeResources r = NodeCapacity.of(new NodeCapacity.Pool(CPU, MEMORY, 8, 2, 0, 0, 1));
        assertThat(r.capacity().get("nvidia.com/gpu")).isEqualTo("8");
        assertThat(r.allocatable().get("nvidia.com/gpu")).isEqualTo("5");
        assertThat(r.allocatable().get("pods")).isEqualTo("5");
    }
}
