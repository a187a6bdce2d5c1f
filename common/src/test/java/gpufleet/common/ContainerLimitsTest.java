package gpufleet.common;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ContainerLimitsTest {
    @Test
    void aQuotaUnderOneMillisecondIsRaisedToItAsTheKubeletDoes() {
        // 1m (and 0.0005 or 0.0001m, which read as 1m) would be a 100 us quota: the kernel refuses it.
        assertThat(ContainerLimits.nanoCpus(Quantity.cpuMillis("0.0001m", "cpu"))).isEqualTo(10_000_000L);
        assertThat(ContainerLimits.quotaMicros(1)).isEqualTo(1_000);
        assertThat(ContainerLimits.quotaMicros(9)).isEqualTo(1_000);
    }

    @Test
    void fromTenMillicoresUpTheLimitIsExact() {
        assertThat(ContainerLimits.nanoCpus(10)).isEqualTo(10_000_000L);
        assertThat(ContainerLimits.nanoCpus(11)).isEqualTo(11_000_000L);
        assertThat(ContainerLimits.nanoCpus(500)).isEqualTo(500_000_000L);
        assertThat(ContainerLimits.quotaMicros(500)).isEqualTo(50_000);
    }

    @Test
    void dockersMemoryFloorIsSixMebibytes() {
        assertThat(ContainerLimits.MIN_MEMORY_BYTES).isEqualTo(6_291_456L);
    }
}
