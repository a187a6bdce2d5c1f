package gpufleet.control.workload;

import static org.assertj.core.api.Assertions.assertThat;

import gpufleet.common.api.ContainerStatus;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The pod phase the kubelet would report, from what the host says of each container. */
class PodPhaseTest {
    static ContainerStatus running(String name) {
        return new ContainerStatus(name, "running", null, null, null, 0, null, null, null, null, true, null);
    }

    static ContainerStatus exited(String name, int code, int restarts) {
        return new ContainerStatus(name, "terminated", code == 0 ? "Completed" : "Error", null, code, restarts, null, null,
                null, null, false, null);
    }

    static ContainerStatus waiting(String name, String reason, int restarts) {
        return new ContainerStatus(name, "waiting", reason, null, null, restarts, null, null, null, null, false, null);
    }

    @Test
    void aCrashLoopingPodWithRestartPolicyAlwaysStaysRunningBetweenRestarts() {
        assertThat(HostWorkloads.phase(List.of(waiting("main", "CrashLoopBackOff", 3)), "Always")).isEqualTo("running");
        assertThat(HostWorkloads.phase(List.of(exited("main", 2, 3)), "Always")).isEqualTo("running");
        assertThat(HostWorkloads.phase(List.of(waiting("main", "CrashLoopBackOff", 1), running("side")), null)).isEqualTo("running");
    }

    @Test
    void onFailureRestartingAFailedContainerIsRunningAndAllZeroExitsSucceed() {
        assertThat(HostWorkloads.phase(List.of(waiting("main", "CrashLoopBackOff", 2)), "OnFailure")).isEqualTo("running");
        assertThat(HostWorkloads.phase(List.of(exited("main", 1, 0)), "OnFailure")).isEqualTo("running");
        assertThat(HostWorkloads.phase(List.of(exited("a", 0, 2), exited("b", 0, 0)), "OnFailure")).isEqualTo("succeeded");
    }

    @Test
    void neverEndsSucceededOrFailedOnceEveryContainerHasExited() {
        assertThat(HostWorkloads.phase(List.of(exited("a", 0, 0), exited("b", 0, 0)), "Never")).isEqualTo("succeeded");
        assertThat(HostWorkloads.phase(List.of(exited("a", 0, 0), exited("b", 137, 0)), "Never")).isEqualTo("failed");
        assertThat(HostWorkloads.phase(List.of(exited("a", 0, 0), running("b")), "Never")).isEqualTo("running");
    }

    @Test
    void aContainerNotStartedYetKeepsThePodPending() {
        assertThat(HostWorkloads.phase(List.of(), "Never")).isEqualTo("placed");
        assertThat(HostWorkloads.phase(List.of(waiting("main", "ContainerCreating", 0), running("side")), "Always"))
                .isEqualTo("placed");
        // Under Never a second attempt is only a start that failed before the process ran: not an end.
        assertThat(HostWorkloads.phase(List.of(waiting("main", "RunContainerError", 1)), "Never")).isEqualTo("placed");
    }
}
