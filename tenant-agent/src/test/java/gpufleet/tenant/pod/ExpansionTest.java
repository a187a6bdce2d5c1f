package gpufleet.tenant.pod;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The kubelet's $(VAR) expansion, on the cases Kubernetes' own expansion tests use. */
class ExpansionTest {
    static final Map<String, String> VARS = Map.of("VAR_A", "A", "VAR_B", "B", "VAR_EMPTY", "");

    @ParameterizedTest(name = "[{0}] becomes [{1}]")
    @CsvSource(delimiter = '|', value = {
        "$(VAR_A)|A", "___$(VAR_B)___|___B___", "$(VAR_A)-$(VAR_A)|A-A", "$$(VAR_B)_$(VAR_A)|$(VAR_B)_A",
        "$$$$$$(BIG_MONEY)|$$$(BIG_MONEY)", "$(VAR_DNE)|$(VAR_DNE)", "$(VAR_A|$(VAR_A", "$VAR_A|$VAR_A", "$(|$(", "$|$",
        "$$|$", "f000-$$VAR_A|f000-$VAR_A", "$()|$()", "x$(VAR_EMPTY)y|xy", "echo $(VAR_A) $HOME|echo A $HOME",
    })
    void asTheKubeletExpands(String input, String expected) {
        assertThat(Expansion.expand(input, VARS)).isEqualTo(expected);
    }
}
