package gpufleet.control.placement;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Placement decisions without a database. */
class FitTest {
    static final String A6000 = "NVIDIA RTX A6000";

    static Fit.HostFree host(String name, int free, long cpuMillis, long memGi) {
        List<Fit.FreeGpu> gpus = new ArrayList<>();
        for (int i = 0; i < free; i++) {
            gpus.add(new Fit.FreeGpu(name + "-gpu" + i, Map.of()));
        }
        return new Fit.HostFree(UUID.nameUUIDFromBytes(name.getBytes()), name, gpus, cpuMillis, memGi << 30);
    }

    static Fit.Request request(int gpus, long cpuMillis, long memGi) {
        return new Fit.Request(A6000, List.of(gpus), cpuMillis, memGi << 30);
    }

    @Test
    void aHostWithTheGpusCpuAndMemoryTakesThePod() {
        Fit.Decision d = Fit.onHost(request(2, 2000, 16), host("busy", 2, 2000, 16));
        assertThat(d).isInstanceOf(Fit.Placed.class);
        assertThat(((Fit.Placed) d).hostName()).isEqualTo("busy");
        assertThat(((Fit.Placed) d).gpus()).containsExactly(List.of("busy-gpu0", "busy-gpu1"));
    }

    @Test
    void misfitsSayWhy() {
        assertThat(Fit.onHost(request(2, 1000, 1), host("gpu-03", 1, 63000, 250)))
                .isEqualTo(new Fit.Misfit("no ready host has 2 free NVIDIA RTX A6000; most free on one host: 1"));
        assertThat(Fit.onHost(request(1, 1000, 1), null))
                .isEqualTo(new Fit.Misfit("no ready host has 1 free NVIDIA RTX A6000; none has any free"));
        assertThat(Fit.onHost(request(1, 4000, 16), host("gpu-05", 4, 1500, 12)))
                .isEqualTo(new Fit.Misfit("hosts with 1 free NVIDIA RTX A6000 lack cpu or memory: the pod needs 4 cpu and 16Gi"
                        + " memory; gpu-05 has 1500m cpu and 12Gi memory free"));
        assertThat(Fit.onHost(request(1, 1000, 16), host("gpu-06", 4, 63000, 12)))
                .as("memory alone short").isInstanceOf(Fit.Misfit.class);
    }

    @Test
    void severalGpusComeFromAnNvlinkPairWhenThereIsOne() {
        // GPUs 0..3; 2 and 3 are NVLink peers, the rest only share the NUMA node or the system.
        Map<String, Map<String, String>> topo = new HashMap<>();
        String[] ids = {"g0", "g1", "g2", "g3"};
        for (String a : ids) {
            Map<String, String> row = new HashMap<>();
            for (String b : ids) {
                if (!a.equals(b)) {
                    row.put(b, (a.equals("g2") && b.equals("g3")) || (a.equals("g3") && b.equals("g2")) ? "NVLINK"
                            : (a.equals("g0") || b.equals("g0")) ? "SYSTEM" : "NODE");
                }
            }
            topo.put(a, row);
        }
        List<Fit.FreeGpu> gpus = new ArrayList<>();
        for (String id : ids) {
            gpus.add(new Fit.FreeGpu(id, topo.get(id)));
        }
        Fit.HostFree h = new Fit.HostFree(UUID.randomUUID(), "nv", gpus, 63000, 250L << 30);
        Fit.Placed p = (Fit.Placed) Fit.onHost(new Fit.Request(A6000, List.of(1, 1), 2000, 32L << 30), h);
        assertThat(p.gpus()).hasSize(2);
        assertThat(List.of(p.gpus().get(0).get(0), p.gpus().get(1).get(0))).containsExactlyInAnyOrder("g2", "g3");
    }
}
