package gpufleet.host.workload;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class RestartBackoffTest {
    static final Instant T0 = Instant.parse("2026-11-29T06:00:00Z");

    @Test
    void aContainerThatRanLongerThanItsDelayStillWaitsFromWhenItEnded() {
        RestartBackoff b = new RestartBackoff(Duration.ofSeconds(10));
        assertThat(b.tryNow("w/c", T0, null)).as("the first restart is at once, as the kubelet's").isTrue();
        // It ran 60 s, then crashed: the kubelet waits the 10 s back-off from the crash, not from the start.
        Instant crashed = T0.plusSeconds(60);
        assertThat(b.tryNow("w/c", crashed.plusSeconds(1), crashed)).isFalse();
        assertThat(b.remaining("w/c", crashed.plusSeconds(1), crashed)).isEqualTo(Duration.ofSeconds(9));
        assertThat(b.tryNow("w/c", crashed.plusSeconds(10), crashed)).isTrue();
        // The delay doubles: a crash right after that restart waits 20 s.
        Instant again = crashed.plusSeconds(11);
        assertThat(b.tryNow("w/c", again.plusSeconds(19), again)).isFalse();
        assertThat(b.tryNow("w/c", again.plusSeconds(20), again)).isTrue();
    }
}
