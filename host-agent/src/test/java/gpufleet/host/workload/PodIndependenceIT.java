package gpufleet.host.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.github.dockerjava.api.DockerClient;
import gpufleet.common.api.ContainerStatus;
import gpufleet.common.api.HostDesired;
import gpufleet.common.api.HostWorkload;
import gpufleet.common.api.WorkloadSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each pod is its own unit of work on a real Docker Engine: a slow stop, a missing image or a
 * file mount that fails holds up no other pod, and a pod's containers stop side by side under
 * one grace period for the whole pod.
 */
class PodIndependenceIT {
    private static final String TENANT = "indep000";
    private static final String IMAGE = "gpufleet/busybox:test";
    /** A process that ignores SIGTERM, so only the grace period's SIGKILL ends it. */
    private static final List<String> DEAF = List.of("sh", "-c", "trap '' TERM; while true; do sleep 1; done");
    static DockerClient docker;

    @TempDir
    Path state;
    TestEngine.Wired wired;
    /** Each workload's latest outcome, as its worker reported it. */
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
        wired = TestEngine.Wired.host("indep-01", state, "gpufleet/pause:test", reported::put);
    }

    @AfterEach
    void stop() {
        wired.close();
        TestEngine.removeManaged(docker);
    }

    private static WorkloadSpec.Container container(String name, String image, List<String> command, List<WorkloadSpec.FileMount> files) {
        return new WorkloadSpec.Container(name, image, "IfNotPresent", command, null, null, null,
                new WorkloadSpec.Resources(0, "50m", "32Mi", null), files, null, null, null);
    }

    private static HostWorkload pod(UUID id, long graceSeconds, List<WorkloadSpec.Container> containers, boolean stop) {
        WorkloadSpec spec = new WorkloadSpec("uid-" + id, "default", "indep", "seeweb-nvidia-1xa6000", containers, "Always",
                graceSeconds, List.of());
        return new HostWorkload(id, TENANT, "uid-" + id, "default", "indep", spec, Map.of(), stop, List.of());
    }

    private static HostWorkload sleeper(UUID id) {
        return pod(id, 1, List.of(container("main", IMAGE, List.of("sleep", "600"), null)), false);
    }

    private boolean running(UUID id) {
        PodRunner.Outcome o = reported.get(id);
        return o != null && !o.statuses().isEmpty() && o.statuses().stream().allMatch(s -> s.state().equals("running"));
    }

    /** How long a one-container pod takes to run on this machine now, nothing else going on: its usual time. */
    private Duration usualStart() throws Exception {
        UUID probe = UUID.randomUUID();
        long t0 = System.nanoTime();
        wired.reconciler().reconcile(new HostDesired(1, List.of(sleeper(probe))));
        assertThat(running(probe)).as("the probe pod runs: %s", reported.get(probe)).isTrue();
        Duration usual = Duration.ofNanos(System.nanoTime() - t0);
        wired.reconciler().reconcile(new HostDesired(2, List.of(pod(probe, 0, sleeper(probe).spec().containers(), true))));
        return usual;
    }

    @Test
    void aPodIgnoringSigtermStopsInOneGracePeriodWhileAnotherPodStarts() throws Exception {
        Duration usual = usualStart();
        UUID deaf = UUID.randomUUID();
        List<WorkloadSpec.Container> three = List.of(container("a", IMAGE, DEAF, null), container("b", IMAGE, DEAF, null),
                container("c", IMAGE, DEAF, null));
        wired.reconciler().reconcile(new HostDesired(3, List.of(pod(deaf, 30, three, false))));
        assertThat(running(deaf)).as("three containers running: %s", reported.get(deaf)).isTrue();

        long t0 = System.nanoTime();
        CompletableFuture<?> stopping = wired.reconciler().dispatch(new HostDesired(4, List.of(pod(deaf, 30, three, true))));
        UUID next = UUID.randomUUID();
        // The next pass, as the loop runs it a moment later: the new pod must not wait for the stop.
        wired.reconciler().dispatch(new HostDesired(5, List.of(pod(deaf, 30, three, true), sleeper(next))));
        await("pod " + next + " running while " + deaf + " stops").atMost(Duration.ofSeconds(60)).until(() -> running(next) || stopping.isDone());
        Duration nextStarted = Duration.ofNanos(System.nanoTime() - t0);
        assertThat(stopping).as("pod %s ran only after the other pod's stop (%d ms)", next, nextStarted.toMillis()).isNotDone();
        assertThat(nextStarted).as("started within its usual time (%d ms alone), plus slack for this machine", usual.toMillis())
                .isLessThan(usual.multipliedBy(3).plusSeconds(10));

        await("pod " + deaf + " gone").atMost(Duration.ofSeconds(120)).until(() -> reported.containsKey(deaf) && reported.get(deaf).gone());
        Duration stopped = Duration.ofNanos(System.nanoTime() - t0);
        assertThat(stopped).as("three containers stopped side by side under one 30 s grace period, not 3 x 30 s")
                .isGreaterThanOrEqualTo(Duration.ofSeconds(29)).isLessThan(Duration.ofSeconds(60));
    }

    @Test
    void aMissingImageAFailingMountAndASlowStopHoldUpNoOtherPod() throws Exception {
        Duration usual = usualStart();
        UUID slow = UUID.randomUUID();
        HostWorkload slowPod = pod(slow, 30, List.of(container("main", IMAGE, DEAF, null)), false);
        wired.reconciler().reconcile(new HostDesired(3, List.of(slowPod)));
        assertThat(running(slow)).isTrue();

        UUID noImage = UUID.randomUUID();
        HostWorkload missing = pod(noImage, 1, List.of(container("main", "127.0.0.1:5000/gpufleet/does-not-exist:1.0",
                List.of("sleep", "600"), null)), false);
        UUID badMount = UUID.randomUUID();
        // /etc/passwd is a file in the image: nothing can be mounted beneath it, so the container cannot start.
        HostWorkload mount = pod(badMount, 1, List.of(container("main", IMAGE, List.of("sleep", "600"),
                List.of(new WorkloadSpec.FileMount("/etc/passwd/app.conf", 0444, Base64.getEncoder().encodeToString("x".getBytes()))))),
                false);
        List<UUID> healthy = List.of(UUID.randomUUID(), UUID.randomUUID());
        List<HostWorkload> all = new ArrayList<>(List.of(pod(slow, 30, slowPod.spec().containers(), true), missing, mount));
        healthy.forEach(id -> all.add(sleeper(id)));

        long t0 = System.nanoTime();
        CompletableFuture<?> pass = wired.reconciler().dispatch(new HostDesired(4, all));
        await("the healthy pods running").atMost(Duration.ofSeconds(60)).until(() -> healthy.stream().allMatch(this::running) || pass.isDone());
        Duration started = Duration.ofNanos(System.nanoTime() - t0);
        assertThat(pass).as("the healthy pods ran only once the slow stop ended (%d ms)", started.toMillis()).isNotDone();
        assertThat(started).as("both started within their usual time (%d ms alone), plus slack for this machine", usual.toMillis())
                .isLessThan(usual.multipliedBy(4).plusSeconds(10));
        await("the failing pods report their own failures").atMost(Duration.ofSeconds(60))
                .until(() -> waitingWith(noImage, "ErrImagePull", "ImagePullBackOff") && waitingWith(badMount, "RunContainerError"));
        assertThat(reported.get(badMount).statuses().get(0).message()).as("the engine's words").contains("not a directory");
        assertThat(reported.get(noImage).statuses().get(0).message()).contains("does-not-exist");
        await("pod " + slow + " gone").atMost(Duration.ofSeconds(120)).until(() -> reported.containsKey(slow) && reported.get(slow).gone());
    }

    private boolean waitingWith(UUID id, String... reasons) {
        PodRunner.Outcome o = reported.get(id);
        if (o == null || o.statuses().isEmpty()) {
            return false;
        }
        ContainerStatus s = o.statuses().get(0);
        return s.state().equals("waiting") && List.of(reasons).contains(s.reason());
    }
}
