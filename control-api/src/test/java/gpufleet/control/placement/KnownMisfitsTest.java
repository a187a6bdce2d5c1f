package gpufleet.control.placement;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** A placement pass skips what cannot fit when something no larger did not. */
class KnownMisfitsTest {
    private static Fit.Request ask(String model, int gpus, long cpu, long memory) {
        return new Fit.Request(model, List.of(gpus), cpu, memory);
    }

    @Test
    void aRequestAtLeastAsLargeOfTheSameModelIsCoveredAndSmallerOrOtherModelsAreNot() {
        KnownMisfits m = new KnownMisfits();
        m.add(ask("A100", 4, 1000, 1 << 20));
        assertThat(m.covers(ask("A100", 4, 1000, 1 << 20))).as("the same shape").isTrue();
        assertThat(m.covers(ask("A100", 8, 2000, 2 << 20))).as("larger in every way").isTrue();
        assertThat(m.covers(ask("A100", 2, 1000, 1 << 20))).as("fewer GPUs may fit").isFalse();
        assertThat(m.covers(ask("A100", 4, 500, 1 << 20))).as("less cpu may fit").isFalse();
        assertThat(m.covers(ask("A100", 4, 1000, 1 << 10))).as("less memory may fit").isFalse();
        assertThat(m.covers(ask("A6000", 8, 2000, 2 << 20))).as("another model").isFalse();
    }

    @Test
    void aGpuCountSplitOverContainersCountsAsItsSum() {
        KnownMisfits m = new KnownMisfits();
        m.add(ask("A6000", 3, 0, 0));
        assertThat(m.covers(new Fit.Request("A6000", List.of(2, 2), 0, 0))).isTrue();
        assertThat(m.covers(new Fit.Request("A6000", List.of(1, 1), 0, 0))).isFalse();
    }
}
