package gpufleet.host.workload;

import static gpufleet.host.workload.InitContainersIT.container;
import static gpufleet.host.workload.InitContainersIT.pod;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.model.Frame;
import gpufleet.common.api.ContainerStatus;
import gpufleet.common.api.HostDesired;
import gpufleet.common.api.HostWorkload;
import gpufleet.common.api.Probe;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** postStart and preStop hooks as the kubelet runs them, on a real Docker Engine. */
class LifecycleHooksIT {
    static DockerClient docker;
    /** Waits on SIGTERM's handler: it prints "term" once the signal reaches the process. */
    private static final String TRAPS_TERM = "trap 'echo term; exit 0' TERM; echo trapped; while true; do sleep 0.2; done";

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
        InitContainersIT.removeOf(docker, "hooks-01");
        wired = TestEngine.Wired.host("hooks-01", state, "gpufleet/pause:test", reported::put);
    }

    @AfterEach
    void stop() {
        wired.close();
        InitContainersIT.removeOf(docker, "hooks-01");
    }

    private static Probe.Lifecycle hooks(List<String> postStart, List<String> preStop) {
        return new Probe.Lifecycle(postStart == null ? null : new Probe.Handler(postStart, null, null, null, null),
                preStop == null ? null : new Probe.Handler(preStop, null, null, null, null));
    }

    private ContainerStatus pass(HostWorkload w) throws Exception {
        wired.reconciler().reconcile(new HostDesired(1, List.of(w)));
        return reported.get(w.id()).statuses().get(0);
    }

    /** Follows a container's output into {@code out} until it ends. */
    private static ResultCallback.Adapter<Frame> follow(String containerId, StringBuffer out) {
        return docker.logContainerCmd(containerId.replaceFirst("^docker://", "")).withStdOut(true).withStdErr(true)
                .withFollowStream(true).exec(new ResultCallback.Adapter<>() {
                    @Override
                    public void onNext(Frame f) {
                        out.append(new String(f.getPayload(), StandardCharsets.UTF_8));
                    }
                });
    }

    @Test
    void postStartEndsBeforeTheContainerIsReportedRunning() throws Exception {
        UUID id = UUID.randomUUID();
        HostWorkload w = pod(id, "Always", List.of(), List.of(container("main", "sleep 600", null,
                hooks(List.of("sh", "-c", "sleep 2; echo hooked > /tmp/hooked"), null))), 1, false);
        long t0 = System.nanoTime();
        ContainerStatus s = pass(w);
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        assertThat(s.state()).isEqualTo("running");
        assertThat(took).as("the first report of it running came once its postStart had ended").isGreaterThan(Duration.ofSeconds(2));
        String id2 = s.containerId().replaceFirst("^docker://", "");
        var exec = docker.execCreateCmd(id2).withCmd("cat", "/tmp/hooked").withAttachStdout(true).exec();
        StringBuffer out = new StringBuffer();
        docker.execStartCmd(exec.getId()).exec(new ResultCallback.Adapter<Frame>() {
            @Override
            public void onNext(Frame f) {
                out.append(new String(f.getPayload(), StandardCharsets.UTF_8));
            }
        }).awaitCompletion();
        assertThat(out.toString()).isEqualTo("hooked\n");
    }

    @Test
    void aFailingPostStartKillsTheContainerWhichIsRestartedWithTheKubeletsEvent() throws Exception {
        UUID id = UUID.randomUUID();
        HostWorkload w = pod(id, "Always", List.of(), List.of(container("main", "sleep 600", null,
                hooks(List.of("sh", "-c", "echo no model; exit 4"), null))), 1, false);
        ContainerStatus s = pass(w);
        assertThat(s.state()).isEqualTo("waiting");
        assertThat(s.reason()).isEqualTo("PostStartHookError");
        assertThat(s.message()).contains("Exec lifecycle hook ([sh, -c, echo no model; exit 4]) for Container \"main\" in Pod \"inits_default(uid-"
                + id + ")\" failed - error: command 'sh -c echo no model; exit 4' exited with 4");
        assertThat(s.events()).singleElement().satisfies(e -> {
            assertThat(e.reason()).isEqualTo("FailedPostStartHook");
            assertThat(e.type()).isEqualTo("Warning");
        });
        await("started again").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300))
                .until(() -> pass(w).restartCount() >= 1);
    }

    @Test
    void preStopRunsBeforeSigtermReachesTheProcess() throws Exception {
        UUID id = UUID.randomUUID();
        List<String> preStop = List.of("sh", "-c", "echo prestop > /proc/1/fd/1; sleep 1");
        HostWorkload w = pod(id, "Always", List.of(), List.of(container("main", TRAPS_TERM, null, hooks(null, preStop))), 20, false);
        ContainerStatus s = pass(w);
        StringBuffer out = new StringBuffer();
        ResultCallback.Adapter<Frame> logs = follow(s.containerId(), out);
        await("the handler set").atMost(Duration.ofSeconds(30)).until(() -> out.toString().contains("trapped"));
        PodRunner.Outcome gone;
        wired.reconciler().reconcile(new HostDesired(2, List.of(pod(id, "Always", List.of(), w.spec().containers(), 20, true))));
        gone = reported.get(id);
        logs.awaitCompletion(10, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(gone.gone()).isTrue();
        String seen = out.toString();
        assertThat(seen).contains("prestop").contains("term");
        assertThat(seen.indexOf("prestop")).as("preStop first: %s", seen).isLessThan(seen.indexOf("term"));
        assertThat(gone.statuses().get(0).exitCode()).as("ended by its own TERM handler").isZero();
    }

    @Test
    void aPreStopThatNeverEndsCannotHoldThePodPastItsGracePeriod() throws Exception {
        UUID id = UUID.randomUUID();
        List<String> forever = List.of("sh", "-c", "sleep 100000");
        String ignoresTerm = "trap '' TERM; while true; do sleep 0.2; done";
        HostWorkload w = pod(id, "Always", List.of(), List.of(container("main", ignoresTerm, null, hooks(null, forever))), 3, false);
        pass(w);
        long t0 = System.nanoTime();
        wired.reconciler().reconcile(new HostDesired(2, List.of(pod(id, "Always", List.of(), w.spec().containers(), 3, true))));
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        assertThat(reported.get(id).gone()).isTrue();
        assertThat(took).as("grace 3 s, plus the kubelet's 2 s after a preStop that used it up")
                .isGreaterThanOrEqualTo(Duration.ofSeconds(3)).isLessThan(Duration.ofSeconds(9));
        assertThat(reported.get(id).statuses().get(0).exitCode()).as("killed").isEqualTo(137);
    }
}
