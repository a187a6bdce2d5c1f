package gpufleet.tenant.pod;

import static org.assertj.core.api.Assertions.assertThat;

import gpufleet.common.Json;
import gpufleet.common.api.ContainerStatus;
import gpufleet.common.api.WorkloadView;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodStatus;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The pod status the tenant-agent writes from a workload's view, as the kubelet writes it. */
class PodStatusesTest {
    private static final Instant STARTED = Instant.parse("2026-11-29T05:00:00Z");

    private static Pod pod() {
        return new PodBuilder().withNewMetadata().withName("oom").withNamespace("default").withUid("uid-oom").endMetadata()
                .withNewSpec().addNewContainer().withName("main").withImage("busybox").endContainer().endSpec().build();
    }

    private static WorkloadView view(String phase, ContainerStatus s) {
        return new WorkloadView(UUID.randomUUID(), "uid-oom", "default", "oom", "seeweb-nvidia-1xa6000", phase, null, null,
                UUID.randomUUID(), Map.of(), List.of(s), false, STARTED);
    }

    @Test
    void aCrashLoopingContainerWaitsWithItsLastRunTerminatedAndThePodStaysRunning() {
        ContainerStatus.Terminated oom = new ContainerStatus.Terminated("OOMKilled", null, 137, STARTED, STARTED.plusSeconds(2),
                "docker://abc");
        ContainerStatus s = new ContainerStatus("main", "waiting", "CrashLoopBackOff", "back-off 20s restarting failed container main",
                null, 3, null, null, null, null, false, null, oom);
        PodStatus status = PodStatuses.of(pod(), view("running", s), "10.0.0.1");
        assertThat(status.getPhase()).isEqualTo("Running");
        var c = status.getContainerStatuses().get(0);
        assertThat(c.getRestartCount()).isEqualTo(3);
        assertThat(c.getState().getWaiting().getReason()).isEqualTo("CrashLoopBackOff");
        assertThat(c.getLastState().getTerminated().getReason()).isEqualTo("OOMKilled");
        assertThat(c.getLastState().getTerminated().getExitCode()).isEqualTo(137);
        assertThat(c.getLastState().getTerminated().getFinishedAt()).isEqualTo("2026-11-29T05:00:02Z");
        assertThat(c.getLastState().getTerminated().getContainerID()).isEqualTo("docker://abc");
    }

    @Test
    void aFirstRunHasAnEmptyLastStateAsTheKubeletWritesIt() {
        ContainerStatus s = new ContainerStatus("main", "running", null, null, null, 0, STARTED, null, "docker://abc", "busybox",
                true, null);
        var c = PodStatuses.of(pod(), view("running", s), "10.0.0.1").getContainerStatuses().get(0);
        assertThat(c.getLastState()).isNotNull();
        assertThat(c.getLastState().getTerminated()).isNull();
        assertThat(c.getState().getRunning().getStartedAt()).isEqualTo("2026-11-29T05:00:00Z");
    }

    @Test
    void aReportFromAnAgentBeforeLastStateIsStillReadAndAnEndIsNeverBeforeItsStart() throws Exception {
        String old = "{\"name\":\"main\",\"state\":\"terminated\",\"reason\":\"Error\",\"exitCode\":1,\"restartCount\":0,"
                + "\"startedAt\":\"2026-11-29T05:00:00.500Z\",\"finishedAt\":\"2026-11-29T05:00:00.498Z\"}";
        ContainerStatus s = Json.mapper().readValue(old, ContainerStatus.class);
        assertThat(s.lastState()).isNull();
        assertThat(s.finishedAt()).as("clamped to its start").isEqualTo(s.startedAt());
    }

    @Test
    void startedFollowsTheHostsStartupProbeAndRunningStandsInForItFromAnOlderHost() throws Exception {
        ContainerStatus probing = new ContainerStatus("main", "running", null, null, null, 0, STARTED, null, "docker://abc", "busybox",
                false, null, null, null, false);
        assertThat(PodStatuses.of(pod(), view("running", probing), "10.0.0.1").getContainerStatuses().get(0).getStarted())
                .as("running, its startup probe not passed yet").isFalse();
        ContainerStatus passed = probing.with(false, true, List.of());
        assertThat(PodStatuses.of(pod(), view("running", passed), "10.0.0.1").getContainerStatuses().get(0).getStarted()).isTrue();
        String old = "{\"name\":\"main\",\"state\":\"running\",\"restartCount\":0,\"startedAt\":\"2026-11-29T05:00:00Z\"}";
        ContainerStatus fromOlderHost = Json.mapper().readValue(old, ContainerStatus.class);
        assertThat(fromOlderHost.started()).isNull();
        assertThat(PodStatuses.of(pod(), view("running", fromOlderHost), "10.0.0.1").getContainerStatuses().get(0).getStarted())
                .isTrue();
        ContainerStatus ended = new ContainerStatus("main", "terminated", "Completed", null, 0, 0, STARTED, STARTED, "docker://abc",
                "busybox", false, null, null, null, true);
        assertThat(PodStatuses.of(pod(), view("succeeded", ended), "10.0.0.1").getContainerStatuses().get(0).getStarted())
                .as("a container that is not running is not started").isFalse();
    }

    @Test
    void aSidecarNotStartedYetKeepsThePodUninitialized() {
        Pod pod = new PodBuilder(pod()).editSpec().addNewInitContainer().withName("proxy").withImage("busybox").withRestartPolicy("Always")
                .endInitContainer().endSpec().build();
        ContainerStatus probing = new ContainerStatus("proxy", "running", null, null, null, 0, STARTED, null, "docker://def", "busybox",
                false, null, null, null, false);
        WorkloadView w = new WorkloadView(UUID.randomUUID(), "uid-oom", "default", "oom", "seeweb-nvidia-1xa6000", "running", null,
                null, UUID.randomUUID(), Map.of(), List.of(), false, STARTED, List.of(probing));
        assertThat(PodStatuses.of(pod, w, "10.0.0.1").getConditions()).filteredOn(c -> c.getType().equals("Initialized"))
                .singleElement().satisfies(c -> {
                    assertThat(c.getStatus()).isEqualTo("False");
                    assertThat(c.getMessage()).isEqualTo("containers with incomplete status: [proxy]");
                });
    }
}
