package gpufleet.host.nvml;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import gpufleet.host.SimNvml;
import gpufleet.host.gpu.Gpu;
import gpufleet.host.gpu.GpuSnapshot;
import gpufleet.host.gpu.GpuUnavailableException;
import gpufleet.host.gpu.HealthEvent;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The JNA bindings against the simulated NVML (built against the real nvml.h), field by field and fault by fault. */
class NvmlBindingsIT {
    private static final String TWO_GPUS = """
            driver 535.183.01
            cuda 12020
            gpu uuid=GPU-aaaaaaaa-0000-4000-8000-000000000000 name="NVIDIA A100-SXM4-80GB" serial=1324020000001 pci=00000000:07:00.0 numa=0 mem_total=85899345920 mem_used=2147483648 util_gpu=55 util_mem=21 temp=47 power_mw=215000 power_limit_mw=400000 energy_mj=987654321 ecc=1 ecc_dbe=2 mig=0
            gpu uuid=GPU-bbbbbbbb-0000-4000-8000-000000000001 name="NVIDIA A100-SXM4-80GB" serial=1324020000002 pci=00000000:0F:00.0 numa=1 mem_total=85899345920 mem_used=0 util_gpu=0 util_mem=0 temp=35 power_mw=60000 power_limit_mw=400000 energy_mj=5 ecc=1 ecc_dbe=0 mig=1 mig_devices=2
            topology 0 1 NVLINK
            process 0 pid=4242 mem=1073741824
            """;

    private NvmlGpuInventory nvml;

    @AfterEach
    void close() {
        if (nvml != null) {
            nvml.close();
        }
        SimNvml.defaults();
    }

    private GpuSnapshot sweep(String config) {
        SimNvml.configure(config);
        nvml = new NvmlGpuInventory(SimNvml.library());
        return nvml.sweep();
    }

    @Test
    void theDefaultSimulationIsTheSeedsEightA6000() {
        GpuSnapshot s = sweep("");
        assertThat(s.gpus()).hasSize(8).allSatisfy(g -> {
            assertThat(g.name()).isEqualTo("NVIDIA RTX A6000");
            assertThat(g.memoryTotalBytes()).isEqualTo(51527024640L);
            assertThat(g.uuid()).startsWith("GPU-");
            assertThat(g.healthy()).isTrue();
        });
        assertThat(s.gpus()).extracting(Gpu::uuid).doesNotHaveDuplicates();
        assertThat(s.gpus()).extracting(Gpu::pciBusId).contains("00000000:18:00.0", "00000000:1F:00.0");
        assertThat(s.gpus()).extracting(Gpu::numaNode).containsExactly(0, 0, 0, 0, 1, 1, 1, 1);
        Gpu g0 = s.gpus().get(0);
        assertThat(g0.topology().get(s.gpus().get(1).uuid())).isEqualTo("NVLINK");
        assertThat(g0.topology().get(s.gpus().get(2).uuid())).isEqualTo("NODE");
        assertThat(g0.topology().get(s.gpus().get(4).uuid())).isEqualTo("SYSTEM");
        assertThat(s.driverVersion()).isEqualTo("550.127.05");
        assertThat(s.cudaVersion()).isEqualTo("12.4");
    }

    @Test
    void everyFieldIsRead() {
        GpuSnapshot s = sweep(TWO_GPUS);
        assertThat(s.driverVersion()).isEqualTo("535.183.01");
        assertThat(s.cudaVersion()).isEqualTo("12.2");
        Gpu a = s.gpus().get(0);
        assertThat(a.uuid()).isEqualTo("GPU-aaaaaaaa-0000-4000-8000-000000000000");
        assertThat(a.index()).isZero();
        assertThat(a.name()).isEqualTo("NVIDIA A100-SXM4-80GB");
        assertThat(a.serial()).isEqualTo("1324020000001");
        assertThat(a.pciBusId()).isEqualTo("00000000:07:00.0");
        assertThat(a.memoryTotalBytes()).isEqualTo(85899345920L);
        // The simulation counts its process's 1 GiB as used, as the driver would.
        assertThat(a.memoryUsedBytes()).isEqualTo(2147483648L + 1073741824L);
        assertThat(a.memoryFreeBytes()).isEqualTo(85899345920L - a.memoryUsedBytes());
        assertThat(a.utilizationGpu()).isEqualTo(55);
        assertThat(a.utilizationMemory()).isEqualTo(21);
        assertThat(a.temperatureC()).isEqualTo(47);
        assertThat(a.powerMilliwatts()).isEqualTo(215000L);
        assertThat(a.powerLimitMilliwatts()).isEqualTo(400000L);
        assertThat(a.energyMillijoules()).isEqualTo(987654321L);
        assertThat(a.eccEnabled()).isTrue();
        assertThat(a.eccUncorrectedVolatile()).isEqualTo(2L);
        assertThat(a.eccUncorrectedAggregate()).isEqualTo(2L);
        assertThat(a.remappedRowsUncorrectable()).isEqualTo(2);
        assertThat(a.migEnabled()).isFalse();
        assertThat(a.numaNode()).isZero();
        assertThat(a.processes()).containsExactly(new Gpu.GpuProcess(4242, 1073741824L));
        assertThat(a.topology()).containsEntry("GPU-bbbbbbbb-0000-4000-8000-000000000001", "NVLINK");
        Gpu b = s.gpus().get(1);
        assertThat(b.migEnabled()).isTrue();
        assertThat(b.migDevices()).containsExactly("MIG-bbbbbbbb-0000-4000-8000-000000000001-0",
                "MIG-bbbbbbbb-0000-4000-8000-000000000001-1");
        assertThat(a.migDevices()).isEmpty();
        assertThat(b.numaNode()).isEqualTo(1);
        assertThat(b.processes()).isEmpty();
        assertThat(s.notes()).isEmpty();
    }

    @Test
    void aFieldTheGpuDoesNotSupportIsAbsentNotAnError() {
        GpuSnapshot s = sweep(TWO_GPUS + "fault gpu 1 not_supported power energy temp util ecc mig numa serial processes\n");
        Gpu b = s.gpus().get(1);
        assertThat(b.healthy()).isTrue();
        assertThat(List.of(b.powerMilliwatts() == null, b.energyMillijoules() == null, b.temperatureC() == null,
                b.utilizationGpu() == null, b.eccEnabled() == null, b.migEnabled() == null, b.numaNode() == null,
                b.serial() == null, b.processes() == null)).containsOnly(true);
        assertThat(s.gpus().get(0).powerMilliwatts()).isEqualTo(215000L);
    }

    @Test
    void aDeviceWithoutPermissionIsSkippedAndSaysSo() {
        GpuSnapshot s = sweep("fault gpu 3 no_permission\n");
        assertThat(s.gpus()).hasSize(7).extracting(Gpu::index).doesNotContain(3);
        assertThat(s.notes()).singleElement().asString().contains("index 3 skipped").contains("Insufficient Permissions");
    }

    @Test
    void aLostGpuIsUnhealthyWithNvmlsWords() {
        GpuSnapshot healthy = sweep("");
        String uuid2 = healthy.gpus().get(2).uuid();
        SimNvml.configure("fault gpu 2 lost\n");
        GpuSnapshot s = nvml.sweep();
        Gpu lost = s.gpus().stream().filter(g -> g.uuid().equals(uuid2)).findFirst().orElseThrow();
        assertThat(lost.healthy()).isFalse();
        assertThat(lost.healthReason()).startsWith("GPU is lost").contains("NVML error 15");
        assertThat(s.gpus()).filteredOn(Gpu::healthy).hasSize(7);
    }

    @Test
    void criticalXidsMakeAGpuUnhealthyAndApplicationXidsDoNot() {
        GpuSnapshot s = sweep("");
        String uuid5 = s.gpus().get(5).uuid();
        String uuid6 = s.gpus().get(6).uuid();
        assertThat(nvml.awaitHealthEvent(Duration.ofMillis(200))).as("nothing queued: a timeout").isNull();
        SimNvml.configure("event gpu 6 xid 13\nevent gpu 5 xid 79\n");
        HealthEvent e = null;
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (e == null && System.nanoTime() < deadline) {
            e = nvml.awaitHealthEvent(Duration.ofMillis(500));
        }
        assertThat(e).isEqualTo(new HealthEvent(uuid5, 79L, "Xid 79: GPU has fallen off the bus"));
        GpuSnapshot after = nvml.sweep();
        assertThat(after.gpus().get(5).healthy()).isFalse();
        assertThat(after.gpus().get(5).healthReason()).isEqualTo("Xid 79: GPU has fallen off the bus");
        assertThat(after.gpus().stream().filter(g -> g.uuid().equals(uuid6)).findFirst().orElseThrow().healthy())
                .as("Xid 13 is the application's fault").isTrue();
    }

    @Test
    void aDoubleBitEccEventMakesAGpuUnhealthy() {
        GpuSnapshot s = sweep("");
        String uuid0 = s.gpus().get(0).uuid();
        SimNvml.configure("event gpu 0 dbe\n");
        HealthEvent e = null;
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (e == null && System.nanoTime() < deadline) {
            e = nvml.awaitHealthEvent(Duration.ofMillis(500));
        }
        assertThat(e).isEqualTo(new HealthEvent(uuid0, null, "double-bit ECC error"));
        assertThat(nvml.sweep().gpus().get(0).healthReason()).isEqualTo("double-bit ECC error");
    }

    @Test
    void driverNotLoadedInTheSimulation() {
        SimNvml.configure("fault driver_not_loaded\n");
        nvml = new NvmlGpuInventory(SimNvml.library());
        assertThatThrownBy(nvml::sweep).isInstanceOf(GpuUnavailableException.class)
                .hasMessageContaining("Driver Not Loaded")
                .extracting(e -> ((GpuUnavailableException) e).reason()).isEqualTo("DriverNotLoaded");
        SimNvml.defaults();
        assertThat(nvml.sweep().gpus()).as("the driver came back: the next sweep works").hasSize(8);
    }

    @Test
    void theRealLibraryWithoutADriverSaysDriverNotLoaded() {
        assertThat(java.nio.file.Files.exists(java.nio.file.Path.of(SimNvml.REAL_LIBRARY)))
                .as("Debian's libnvidia-ml1 must be installed (bash dev/services.sh nvml)").isTrue();
        nvml = new NvmlGpuInventory(SimNvml.REAL_LIBRARY);
        assertThatThrownBy(nvml::sweep).isInstanceOf(GpuUnavailableException.class)
                .hasMessage("nvmlInit_v2: Driver Not Loaded (NVML error 9)")
                .extracting(e -> ((GpuUnavailableException) e).reason()).isEqualTo("DriverNotLoaded");
    }

    @Test
    void aMissingLibraryIsNamed() {
        assertThatThrownBy(() -> new NvmlGpuInventory("/nonexistent/libnvidia-ml.so.1"))
                .isInstanceOf(GpuUnavailableException.class)
                .hasMessageContaining("cannot load NVML from /nonexistent/libnvidia-ml.so.1")
                .extracting(e -> ((GpuUnavailableException) e).reason()).isEqualTo("LibraryNotFound");
    }
}
