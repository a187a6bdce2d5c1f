package gpufleet.common.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import gpufleet.common.Invalid;
import gpufleet.common.Json;
import java.util.List;
import org.junit.jupiter.api.Test;

class WorkloadSpecTest {
    private static WorkloadSpec.Container container(String name, String cpu, String memory) {
        return new WorkloadSpec.Container(name, "busybox:1", null, null, null, null, null,
                new WorkloadSpec.Resources(0, cpu, memory), null, null, null, null);
    }

    private static WorkloadSpec pod(List<WorkloadSpec.Container> containers) {
        return new WorkloadSpec("6f1c3b1e-9a0e-4c59-9a53-2b7f1f3d7c11", "default", "p", "h100-1", containers,
                null, null, null);
    }

    @Test
    void theOverflowPodIsRefusedNamingTheCpuOfItsFirstContainer() {
        // Once accepted: the cpu sum wrapped to 8 cores and each container ran with NanoCpus 0 (unlimited).
        assertThatThrownBy(() -> pod(List.of(
                container("a", "8935141660703064064m", "4611686018427387904"),
                container("b", "8935141660703064064m", "4611686018427387904"),
                container("c", "576460752303423488m", "4611686018427387904"),
                container("d", "8", "16Gi"))))
                .isInstanceOf(Invalid.class)
                .hasMessageContaining("cpu: '8935141660703064064m' is more than one container may ask (at most 4096)")
                .extracting(e -> ((Invalid) e).field()).isEqualTo("cpu");
    }

    @Test
    void memoryNearTwoToTheSixtyTwoIsRefusedNamingTheField() {
        assertThatThrownBy(() -> container("a", "1", "4611686018427387904"))
                .isInstanceOf(Invalid.class)
                .hasMessageContaining("memory: '4611686018427387904' is more than one container may ask (at most 64Ti)")
                .extracting(e -> ((Invalid) e).field()).isEqualTo("memory");
    }

    @Test
    void anEphemeralStorageLimitOutOfRangeIsRefusedNamingTheField() {
        for (String bad : List.of("1e30", "-1", "0", "2Pi", "lots")) {
            assertThatThrownBy(() -> new WorkloadSpec.Resources(0, "1", "1Gi", bad)).as(bad)
                    .isInstanceOf(Invalid.class)
                    .extracting(e -> ((Invalid) e).field()).isEqualTo("ephemeral-storage");
        }
        assertThat(new WorkloadSpec.Resources(0, "1", "1Gi", "1Pi").ephemeralStorageBytes()).isEqualTo(1L << 50);
    }

    @Test
    void theOverflowPodAsTheControlApiReadsItIsRefusedAtTheFieldsPath() {
        String body = """
                {"podUid":"6f1c3b1e-9a0e-4c59-9a53-2b7f1f3d7c11","namespace":"default","name":"p","offering":"h100-1",
                 "containers":[{"name":"a","image":"busybox:1","resources":{"cpu":"8","memory":"16Gi"}},
                               {"name":"b","image":"busybox:1","resources":{"cpu":"8","memory":"4611686018427387904"}}]}""";
        assertThatThrownBy(() -> Json.mapper().readValue(body, WorkloadSpec.class))
                .hasRootCauseInstanceOf(Invalid.class)
                .hasMessageContaining("memory: '4611686018427387904' is more than one container may ask");
    }

    @Test
    void sixteenContainersAtTheCapsSumExactly() {
        List<WorkloadSpec.Container> all = new java.util.ArrayList<>();
        for (int i = 0; i < 16; i++) {
            all.add(container("c" + i, "4096", "64Ti"));
        }
        WorkloadSpec spec = pod(all);
        assertThat(spec.cpuMillis()).isEqualTo(16 * 4_096_000L);
        assertThat(spec.memoryBytes()).isEqualTo(16 * (64L << 40));
        assertThat(Math.multiplyExact(spec.cpuMillis(), 1_000_000L)).isPositive();
    }

    @Test
    void memoryUnderDockersSixMebibytesIsRefusedWithTheReason() {
        assertThatThrownBy(() -> container("a", "1", "4Mi"))
                .isInstanceOf(Invalid.class)
                .hasMessage("memory: '4Mi' is less than 6Mi, the least memory Docker gives a container")
                .extracting(e -> ((Invalid) e).field()).isEqualTo("memory");
        assertThat(container("a", "1m", "6Mi").resources().memoryBytes()).isEqualTo(6L << 20);
    }

    @Test
    void kubernetesQuantityFormsAreTaken() {
        WorkloadSpec.Resources r = container("a", ".5", "128e6").resources();
        assertThat(r.cpuMillis()).isEqualTo(500);
        assertThat(r.memoryBytes()).isEqualTo(128_000_000);
        assertThat(container("b", "0.0005", "+1Gi").resources().cpuMillis()).as("rounded up to 1m").isEqualTo(1);
    }

    @Test
    void aFractionOfAGpuInJsonIsRefusedNotCut() throws Exception {
        String body = """
                {"podUid":"6f1c3b1e-9a0e-4c59-9a53-2b7f1f3d7c11","namespace":"default","name":"p","offering":"h100-1",
                 "containers":[{"name":"a","image":"busybox:1","resources":{"gpus":%s,"cpu":"8","memory":"16Gi"}}]}""";
        assertThatThrownBy(() -> Json.mapper().readValue(body.formatted("1.5"), WorkloadSpec.class))
                .hasMessageContaining("gpus must be a whole number, got 1.5");
        assertThatThrownBy(() -> Json.mapper().readValue(body.formatted("\"1\""), WorkloadSpec.class))
                .as("a string is no count either").hasMessageContaining("gpus");
        assertThat(Json.mapper().readValue(body.formatted("2"), WorkloadSpec.class).gpus()).isEqualTo(2);
    }
}
