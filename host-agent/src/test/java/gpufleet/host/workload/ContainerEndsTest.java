package gpufleet.host.workload;

import static org.assertj.core.api.Assertions.assertThat;

import gpufleet.common.api.ContainerStatus;
import gpufleet.host.runtime.Observed;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** How an ended container is worded, from what the engine says of it. */
class ContainerEndsTest {
    private static final Instant T = Instant.parse("2026-11-29T05:00:00Z");

    private static Observed exited(Integer exit, String oomKilled) {
        return new Observed("abc", "gf-x-main-0", Map.of(), "exited", exit, T, T.plusSeconds(1), "busybox", null, oomKilled, Map.of());
    }

    @Test
    void theEnginesOomVerdictIsOomKilledAnExitOfZeroCompletedAnyOtherError() {
        assertThat(PodRunner.ended(exited(137, "true")).reason()).isEqualTo("OOMKilled");
        assertThat(PodRunner.ended(exited(137, null)).reason()).as("a SIGKILL from elsewhere").isEqualTo("Error");
        assertThat(PodRunner.ended(exited(0, null)).reason()).isEqualTo("Completed");
        assertThat(PodRunner.ended(exited(3, null))).extracting(ContainerStatus.Terminated::reason, ContainerStatus.Terminated::exitCode,
                ContainerStatus.Terminated::containerId).containsExactly("Error", 3, "docker://abc");
        assertThat(PodRunner.ended(null)).isNull();
    }
}
