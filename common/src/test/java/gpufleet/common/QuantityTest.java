package gpufleet.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import gpufleet.common.Quantity.Format;
import java.math.BigDecimal;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** The parser against apimachinery's own examples (quantity_test.go: TestQuantityParse, TestQuantityString). */
class QuantityTest {
    @ParameterizedTest(name = "{0} is {1} ({2})")
    @CsvSource({
        // plain, and each decimal suffix
        "0, 0, DECIMAL_SI", "0n, 0, DECIMAL_SI", "0Ki, 0, BINARY_SI", "1, 1, DECIMAL_SI",
        "5n, 0.000000005, DECIMAL_SI", "4u, 0.000004, DECIMAL_SI", "3m, 0.003, DECIMAL_SI", "8k, 8000, DECIMAL_SI",
        "50k, 50000, DECIMAL_SI", "7M, 7000000, DECIMAL_SI", "6G, 6000000000, DECIMAL_SI", "5T, 5e12, DECIMAL_SI",
        "2P, 2e15, DECIMAL_SI", "1E, 1e18, DECIMAL_SI", "12E, 12e18, DECIMAL_SI",
        // binary suffixes, Ei included
        "1Ki, 1024, BINARY_SI", "7Mi, 7340032, BINARY_SI", "6Gi, 6442450944, BINARY_SI", "5Ti, 5497558138880, BINARY_SI",
        "4Pi, 4503599627370496, BINARY_SI", "3Ei, 3458764513820540928, BINARY_SI",
        // decimal exponents
        "1E-3, 0.001, DECIMAL_EXPONENT", "1e3, 1000, DECIMAL_EXPONENT", "1E6, 1000000, DECIMAL_EXPONENT",
        "128e6, 128000000, DECIMAL_EXPONENT", "1.3E+6, 1300000, DECIMAL_EXPONENT", "0.5e-2, 0.005, DECIMAL_EXPONENT",
        // things that look like floating point
        "0.001, 0.001, DECIMAL_SI", "0.0005k, 0.5, DECIMAL_SI", "10.035M, 10035000, DECIMAL_SI", "100.035Ki, 102435.84, BINARY_SI",
        "0.5Mi, 524288, BINARY_SI",
        // signs
        "+1, 1, DECIMAL_SI", "-3m, -0.003, DECIMAL_SI", "+1.5Gi, 1610612736, BINARY_SI",
        // rounded away from zero to the nano, binary capped at 2^63-1
        "3.001n, 0.000000004, DECIMAL_SI", "0.0000000001, 0.000000001, DECIMAL_SI", "1.1E-9, 0.000000002, DECIMAL_EXPONENT",
        "0.00000012345, 0.000000124, DECIMAL_SI", "9Ei, 9223372036854775807, BINARY_SI",
        // "written by trolls", still Kubernetes quantities
        ".5, 0.5, DECIMAL_SI", "5., 5, DECIMAL_SI", ".001, 0.001, DECIMAL_SI", "1.G, 1000000000, DECIMAL_SI",
        "0.000000000001Ki, 0.000000002, DECIMAL_SI",
    })
    void kubernetesValidQuantities(String text, String value, Format format) {
        Quantity.Parsed p = Quantity.read(text, "q");
        assertThat(p.value()).as(text).isEqualByComparingTo(new BigDecimal(value));
        assertThat(p.format()).as(text).isEqualTo(format);
    }

    @ParameterizedTest(name = "{0} is refused")
    @ValueSource(strings = {"", "1.1.M", "1+1.0M", "0.1mi", "0.1am", "aoeu", ".5i", "1i", "-3.01i", "-3.01e-", " 1", "1 ",
        "16 gigs", "1e", "1KI", "1ki", "1Ki3", "1e1.5", "0x10"})
    void kubernetesInvalidQuantities(String text) {
        assertThatThrownBy(() -> Quantity.parse(text, "memory"))
                .isInstanceOf(Invalid.class)
                .hasMessageContaining("memory: '" + text + "' is not a quantity")
                .extracting(e -> ((Invalid) e).field()).isEqualTo("memory");
    }

    @Test
    void cpuIsRoundedUpToTheMillicoreAsTheKubeletReadsIt() {
        assertThat(Quantity.cpuMillis("8000m", "cpu")).isEqualTo(8000);
        assertThat(Quantity.cpuMillis("63", "cpu")).isEqualTo(63_000);
        assertThat(Quantity.cpuMillis(".5", "cpu")).isEqualTo(500);
        assertThat(Quantity.cpuMillis("1e3", "cpu")).isEqualTo(1_000_000);
        assertThat(Quantity.cpuMillis("0.0005", "cpu")).isEqualTo(1);
        assertThat(Quantity.cpuMillis("0.0001m", "cpu")).isEqualTo(1);
        assertThat(Quantity.cpuMillis("1500u", "cpu")).isEqualTo(2);
        assertThat(Quantity.bytes("128e6", "memory")).isEqualTo(128_000_000);
        assertThat(Quantity.bytes("1Ei", "memory")).isEqualTo(1L << 60);
        assertThat(Quantity.bytes("0.5Ki", "memory")).isEqualTo(512);
    }

    @Test
    void negativeAndHugeValuesAreRefusedNamingTheField() {
        assertThatThrownBy(() -> Quantity.cpuMillis("-1", "cpu")).isInstanceOf(Invalid.class)
                .hasMessage("cpu: '-1' must be greater than or equal to 0");
        assertThatThrownBy(() -> Quantity.bytes("100E", "memory")).isInstanceOf(Invalid.class)
                .hasMessage("memory: '100E' is too large");
        assertThatThrownBy(() -> Quantity.bytes("1e2000000000", "memory")).isInstanceOf(Invalid.class)
                .hasMessage("memory: '1e2000000000' is too large");
        assertThat(Quantity.bytes("1e-2000000000", "memory")).as("one nano, rounded up to a byte").isEqualTo(1);
    }

    @Test
    void gpusAreWholeNumbersInAnyForm() {
        assertThat(Quantity.whole("2", "nvidia.com/gpu")).isEqualTo(2);
        assertThat(Quantity.whole("1000m", "nvidia.com/gpu")).isEqualTo(1);
        assertThat(Quantity.whole("1e0", "nvidia.com/gpu")).isEqualTo(1);
        assertThatThrownBy(() -> Quantity.whole("1.5", "nvidia.com/gpu")).isInstanceOf(Invalid.class)
                .hasMessageStartingWith("nvidia.com/gpu: '1.5' must be an integer");
        assertThatThrownBy(() -> Quantity.whole("500m", "nvidia.com/gpu")).isInstanceOf(Invalid.class)
                .hasMessageContaining("must be an integer");
    }

    /** TestQuantityString and TestQuantityParseEmit: each value written back in its canonical form. */
    @ParameterizedTest(name = "{0} is written {1}")
    @CsvSource({
        "1024Mi, 1Gi", "307200Ki, 300Mi", "6Ki, 6Ki", "1025024Mi, 1001Gi", "1024Gi, 1Ti", "5000m, 5", "0.5, 500m",
        "1000M, 1G", "0.001T, 1G", "1000u, 1m", "80m, 80m", "1.08, 1080m", "1080000000n, 1080m", "3k, 3k", "1025, 1025",
        "0, 0", ".001e12, 1e9", "0.001e0, 1e-3", "1000e-12, 1e-9", "80e-3, 80e-3", "1e3, 1e3", "3e3, 3e3",
        ".001Ki, 1024m", ".000000001Ki, 1024n", ".000000000001Ki, 2n", "1.5Gi, 1536Mi", "-1.5Gi, -1536Mi", "1000E, 1e21",
    })
    void writtenBackInKubernetesCanonicalForm(String in, String canonical) {
        Quantity.Parsed p = Quantity.read(in, "q");
        assertThat(Quantity.format(p.value(), p.format())).isEqualTo(canonical);
    }

    @Test
    void cpuAndMemoryFiguresInCanonicalForm() {
        assertThat(Quantity.cpu(61_000)).isEqualTo("61");
        assertThat(Quantity.cpu(31_500)).isEqualTo("31500m");
        assertThat(Quantity.cpu(1_000_000)).isEqualTo("1k");
        assertThat(Quantity.memory(Quantity.bytes("263567056Ki", "memory"))).isEqualTo("263567056Ki");
        assertThat(Quantity.memory(Quantity.bytes("64Gi", "memory"))).isEqualTo("64Gi");
        assertThat(Quantity.memory(Quantity.bytes("1G", "memory"))).isEqualTo("1000000000");
        assertThat(Quantity.bytes("263567056Ki", "memory") - Quantity.bytes("16Gi", "memory"))
                .isEqualTo(Quantity.bytes("246789840Ki", "memory"));
        for (String s : List.of("8000m", "32861620Ki", "128e6", "1Ei")) {
            assertThat(Quantity.read(Quantity.format(Quantity.parse(s, "q"), Quantity.read(s, "q").format()), "q").value())
                    .as("%s survives a round trip", s).isEqualByComparingTo(Quantity.parse(s, "q"));
        }
    }
}
