package gpufleet.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class QuantityTest {
    @Test
    void cpuInTheFormsKubernetesWrites() {
        assertThat(Quantity.cpuMillis("8000m", "cpu")).isEqualTo(8000);
        assertThat(Quantity.cpuMillis("63", "cpu")).isEqualTo(63_000);
        assertThat(Quantity.cpuMillis("0.5", "cpu")).isEqualTo(500);
        assertThat(Quantity.cpu(61_000)).isEqualTo("61");
        assertThat(Quantity.cpu(31_500)).isEqualTo("31500m");
    }

    @Test
    void memoryRoundTripsTheSeedsFigures() {
        assertThat(Quantity.bytes("16Gi", "memory")).isEqualTo(17_179_869_184L);
        assertThat(Quantity.bytes("263567056Ki", "memory") - Quantity.bytes("16Gi", "memory"))
                .isEqualTo(Quantity.bytes("246789840Ki", "memory"));
        assertThat(Quantity.memory(Quantity.bytes("263567056Ki", "memory"))).isEqualTo("263567056Ki");
        assertThat(Quantity.memory(Quantity.bytes("64Gi", "memory"))).isEqualTo("64Gi");
        assertThat(Quantity.memory(Quantity.bytes("1G", "memory"))).isEqualTo("1000000000");
        assertThat(Quantity.memory(Quantity.bytes("32861620Ki", "memory"))).isEqualTo("32861620Ki");
    }

    @Test
    void notAQuantityNamesTheField() {
        assertThatThrownBy(() -> Quantity.bytes("16 gigs", "memory"))
                .isInstanceOf(Invalid.class)
                .hasMessageContaining("memory: '16 gigs' is not a quantity")
                .extracting(e -> ((Invalid) e).field()).isEqualTo("memory");
    }
}
