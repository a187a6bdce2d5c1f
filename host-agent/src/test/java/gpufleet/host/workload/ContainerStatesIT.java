package gpufleet.host.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.model.Frame;
import gpufleet.common.api.ContainerStatus;
import gpufleet.common.api.HostDesired;
import gpufleet.common.api.HostWorkload;
import gpufleet.common.api.WorkloadSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Container states as the kubelet reports them, from real containers on a real Docker Engine. */
class ContainerStatesIT {
    private static final String TENANT = "states00";
    static DockerClient docker;

    @TempDir
    Path state;
    TestEngine.Wired wired;
    final Map<UUID, PodRunner.Outcome> reported = new ConcurrentHashMap<>();

    @BeforeAll
    static void docker() {
        docker = TestEngine.client();
    }

    @AfterAll
    static void closeDocker() throws Exception {
        docker.close();
    }

    @BeforeEach
    void start() {
        TestEngine.removeManaged(docker);
        wired = TestEngine.Wired.host("states-01", state, "gpufleet/pause:test", reported::put);
    }

    @AfterEach
    void stop() {
        wired.close();
        TestEngine.removeManaged(docker);
    }

    private static HostWorkload pod(UUID id, String memory, List<String> command, boolean stop) {
        return pod(id, memory, command, stop, 1L);
    }

    private static HostWorkload pod(UUID id, String memory, List<String> command, boolean stop, long graceSeconds) {
        WorkloadSpec.Container c = new WorkloadSpec.Container("main", "gpufleet/busybox:test", "IfNotPresent", command, null, null,
                null, new WorkloadSpec.Resources(0, "100m", memory, null), null, null, null, null);
        WorkloadSpec spec = new WorkloadSpec("uid-" + id, "default", "states", "seeweb-nvidia-1xa6000", List.of(c), "Always", graceSeconds,
                List.of());
        return new HostWorkload(id, TENANT, "uid-" + id, "default", "states", spec, Map.of(), stop, List.of());
    }

    /** One pass of the loop, as it runs every resync; the worker reports the pod's statuses. */
    private ContainerStatus pass(HostWorkload w) throws Exception {
        wired.reconciler().reconcile(new HostDesired(1, List.of(w)));
        return reported.get(w.id()).statuses().get(0);
    }

    private static String logs(String containerId) throws InterruptedException {
        StringBuilder out = new StringBuilder();
        docker.logContainerCmd(containerId.replaceFirst("^docker://", "")).withStdOut(true).withStdErr(true)
                .exec(new ResultCallback.Adapter<Frame>() {
                    @Override
                    public void onNext(Frame f) {
                        out.append(new String(f.getPayload(), StandardCharsets.UTF_8));
                    }
                }).awaitCompletion();
        return out.toString();
    }

    /** Whether the engine itself says the kernel killed this container for memory. */
    private static boolean engineSaysOom(String containerId) {
        return Boolean.TRUE.equals(docker.inspectContainerCmd(containerId.replaceFirst("^docker://", "")).exec().getState()
                .getOOMKilled());
    }

    @Test
    void aContainerOverItsMemoryLimitEndsWith137AndRestartsWithItsLastStateWhileWaitingInCrashLoopBackOff() throws Exception {
        UUID id = UUID.randomUUID();
        // tail keeps a line that never ends in memory: it grows until the 16Mi limit's OOM kill.
        HostWorkload w = pod(id, "16Mi", List.of("tail", "/dev/zero"), false);
        List<ContainerStatus> seen = new CopyOnWriteArrayList<>();
        await("restarted three times").atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(300)).until(() -> {
            ContainerStatus s = pass(w);
            seen.add(s);
            return s.restartCount() >= 3;
        });
        assertThat(seen).as("after the first run, every status carries how the run before ended")
                .filteredOn(s -> s.restartCount() > 0).isNotEmpty()
                .allSatisfy(s -> assertThat(s.lastState()).as("%s", s).isNotNull());
        assertThat(seen).as("between runs: waiting in CrashLoopBackOff with the last run terminated").anySatisfy(s -> {
            assertThat(s.state()).isEqualTo("waiting");
            assertThat(s.reason()).isEqualTo("CrashLoopBackOff");
            assertThat(s.lastState()).isNotNull();
        });
        ContainerStatus.Terminated last = seen.get(seen.size() - 1).lastState();
        assertThat(last.exitCode()).as("SIGKILL from the OOM killer: %s", last).isEqualTo(137);
        // Docker sets OOMKilled when it hears the kernel's OOM event; engines that miss it (cgroup v1 on
        // some kernels, as on this test machine) leave it false, and the kubelet's word is then Error.
        assertThat(last.reason()).as("the engine's own verdict, worded as the kubelet's: %s", last)
                .isEqualTo(engineSaysOom(last.containerId()) ? "OOMKilled" : "Error");
        assertThat(last.finishedAt()).as("an end never before its start").isAfterOrEqualTo(last.startedAt());
    }

    @Test
    void aDeletedPodsLastStatusesAreTerminatedNeverRunning() throws Exception {
        UUID id = UUID.randomUUID();
        // Ends with status 3 on SIGTERM, well within its grace period.
        List<String> polite = List.of("sh", "-c", "trap 'exit 3' TERM; echo trapped; while true; do sleep 1; done");
        ContainerStatus running = pass(pod(id, "32Mi", polite, false, 20));
        assertThat(running.state()).isEqualTo("running");
        // PID 1 ignores a SIGTERM that comes before its handler is set: stop only once it says so.
        await("the handler set").atMost(Duration.ofSeconds(30)).until(() -> logs(running.containerId()).contains("trapped"));
        wired.reconciler().reconcile(new HostDesired(2, List.of(pod(id, "32Mi", polite, true, 20))));
        PodRunner.Outcome gone = reported.get(id);
        assertThat(gone.gone()).isTrue();
        assertThat(gone.statuses()).as("%s", gone).singleElement().satisfies(s -> {
            assertThat(s.state()).isEqualTo("terminated");
            assertThat(s.exitCode()).as("its own exit on SIGTERM").isEqualTo(3);
            assertThat(s.reason()).isEqualTo("Error");
            assertThat(s.finishedAt()).isAfterOrEqualTo(s.startedAt());
        });
    }
}
