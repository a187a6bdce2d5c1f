package gpufleet.gpuctl.command;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.TypeConversionException;

class DurationsTest {
    final Durations durations = new Durations();

    @Test
    void kubectlStyleDurations() {
        assertThat(durations.convert("90s")).isEqualTo(Duration.ofSeconds(90));
        assertThat(durations.convert("5m")).isEqualTo(Duration.ofMinutes(5));
        assertThat(durations.convert("1h30m")).isEqualTo(Duration.ofMinutes(90));
        assertThat(durations.convert("250ms")).isEqualTo(Duration.ofMillis(250));
        for (String bad : new String[] {"", "5", "m", "5 m", "5m!", "-1s"}) {
            assertThatThrownBy(() -> durations.convert(bad)).as(bad).isInstanceOf(TypeConversionException.class);
        }
    }
}
