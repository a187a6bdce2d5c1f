package gpufleet.host.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.NotFoundException;
import gpufleet.common.api.ContainerStatus;
import gpufleet.common.api.HostDesired;
import gpufleet.common.api.HostWorkload;
import gpufleet.common.api.Probe;
import gpufleet.common.api.WorkloadSpec;
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

/** Init containers and sidecars in the kubelet's order, on a real Docker Engine. */
class InitContainersIT {
    private static final String TENANT = "inits000";
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
        removeOf(docker, "inits-01");
        wired = TestEngine.Wired.host("inits-01", state, "gpufleet/pause:test", reported::put);
    }

    @AfterEach
    void stop() {
        wired.close();
        removeOf(docker, "inits-01");
    }

    /** Removes this test's host's containers only: other tests may run on the same engine meanwhile. */
    static void removeOf(DockerClient docker, String host) {
        for (var c : docker.listContainersCmd().withShowAll(true).withLabelFilter(Map.of(Labels.HOST, host)).exec()) {
            try {
                docker.removeContainerCmd(c.getId()).withForce(true).exec();
            } catch (NotFoundException | ConflictException e) {
                // Gone already, or on its way.
            }
        }
    }

    static WorkloadSpec.Container container(String name, String script, String restartPolicy, Probe.Lifecycle lifecycle) {
        return new WorkloadSpec.Container(name, "gpufleet/busybox:test", "IfNotPresent", List.of("sh", "-c", script), null, null,
                null, new WorkloadSpec.Resources(0, "100m", "32Mi", null), null, null, null, null, restartPolicy, null, null, null,
                null, null, lifecycle);
    }

    static HostWorkload pod(UUID id, String policy, List<WorkloadSpec.Container> inits, List<WorkloadSpec.Container> apps,
                            long grace, boolean stop) {
        WorkloadSpec spec = new WorkloadSpec("uid-" + id, "default", "inits", "seeweb-nvidia-1xa6000", apps, policy, grace, List.of(),
                inits, null, null, null, null, null, null, null);
        return new HostWorkload(id, TENANT, "uid-" + id, "default", "inits", spec, Map.of(), stop, List.of());
    }

    private PodRunner.Outcome pass(HostWorkload w) throws Exception {
        wired.reconciler().reconcile(new HostDesired(1, List.of(w)));
        return reported.get(w.id());
    }

    private static ContainerStatus named(List<ContainerStatus> all, String name) {
        return all.stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
    }

    private static boolean created(UUID workload, String container) {
        return !docker.listContainersCmd().withShowAll(true).withLabelFilter(Map.of(Labels.WORKLOAD, workload.toString(),
                Labels.CONTAINER, container)).exec().isEmpty();
    }

    @Test
    void initContainersRunInOrderEachToItsEndBeforeTheAppContainerStarts() throws Exception {
        UUID id = UUID.randomUUID();
        HostWorkload w = pod(id, "Always", List.of(container("fetch", "sleep 1; echo fetched", null, null),
                container("unpack", "echo unpacked", null, null)), List.of(container("main", "sleep 600", null, null)), 1, false);
        PodRunner.Outcome first = pass(w);
        assertThat(named(first.initStatuses(), "fetch").state()).isEqualTo("running");
        assertThat(named(first.initStatuses(), "unpack").reason()).as("its turn has not come").isEqualTo("PodInitializing");
        assertThat(named(first.statuses(), "main").reason()).isEqualTo("PodInitializing");
        assertThat(created(id, "unpack")).as("the second is not even created while the first runs").isFalse();
        await("initialized").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300))
                .until(() -> named(pass(w).statuses(), "main").state().equals("running"));
        PodRunner.Outcome done = reported.get(id);
        ContainerStatus fetch = named(done.initStatuses(), "fetch");
        ContainerStatus unpack = named(done.initStatuses(), "unpack");
        assertThat(List.of(fetch, unpack)).allSatisfy(s -> {
            assertThat(s.state()).isEqualTo("terminated");
            assertThat(s.reason()).isEqualTo("Completed");
            assertThat(s.exitCode()).isZero();
            assertThat(s.restartCount()).isZero();
        });
        assertThat(unpack.startedAt()).as("the second started after the first ended").isAfterOrEqualTo(fetch.finishedAt());
        assertThat(named(done.statuses(), "main").startedAt()).as("main after every init container")
                .isAfterOrEqualTo(unpack.finishedAt());
    }

    @Test
    void aFailingInitContainerUnderNeverEndsThePodAndTheAppContainerNeverStarts() throws Exception {
        UUID id = UUID.randomUUID();
        HostWorkload w = pod(id, "Never", List.of(container("migrate", "exit 3", null, null)),
                List.of(container("main", "sleep 600", null, null)), 1, false);
        pass(w);
        await("the init container ended").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300))
                .until(() -> named(pass(w).initStatuses(), "migrate").state().equals("terminated"));
        Thread.sleep(1500); // a back-off's worth: nothing restarts it
        PodRunner.Outcome o = pass(w);
        assertThat(named(o.initStatuses(), "migrate")).satisfies(s -> {
            assertThat(s.exitCode()).isEqualTo(3);
            assertThat(s.reason()).isEqualTo("Error");
            assertThat(s.restartCount()).isZero();
        });
        assertThat(named(o.statuses(), "main").reason()).isEqualTo("PodInitializing");
        assertThat(created(id, "main")).as("main never created").isFalse();
    }

    @Test
    void aFailingInitContainerUnderOnFailureIsRestartedWithBackOff() throws Exception {
        UUID id = UUID.randomUUID();
        HostWorkload w = pod(id, "OnFailure", List.of(container("flaky", "exit 1", null, null)),
                List.of(container("main", "sleep 600", null, null)), 1, false);
        await("restarted").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300))
                .until(() -> named(pass(w).initStatuses(), "flaky").restartCount() >= 2);
        await("in back-off").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .until(() -> "CrashLoopBackOff".equals(named(pass(w).initStatuses(), "flaky").reason()));
        assertThat(named(reported.get(id).initStatuses(), "flaky").lastState().exitCode()).isEqualTo(1);
        assertThat(created(id, "main")).isFalse();
    }

    @Test
    void anAgentRestartMidSequenceDoesNotRunACompletedInitContainerAgain() throws Exception {
        UUID id = UUID.randomUUID();
        HostWorkload w = pod(id, "Always", List.of(container("once", "echo once", null, null),
                container("slow", "sleep 3", null, null)), List.of(container("main", "sleep 600", null, null)), 1, false);
        await("the first done, the second running").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .until(() -> named(pass(w).initStatuses(), "slow").state().equals("running"));
        String onceId = named(reported.get(id).initStatuses(), "once").containerId();
        wired.close();
        wired = TestEngine.Wired.host("inits-01", state, "gpufleet/pause:test", reported::put);
        await("main running").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300))
                .until(() -> named(pass(w).statuses(), "main").state().equals("running"));
        ContainerStatus once = named(reported.get(id).initStatuses(), "once");
        assertThat(once.containerId()).as("the same, completed container").isEqualTo(onceId);
        assertThat(once.restartCount()).isZero();
    }

    @Test
    void aSidecarRunsBesideAJobsContainerAndIsStoppedAfterItEnds() throws Exception {
        UUID id = UUID.randomUUID();
        HostWorkload w = pod(id, "Never", List.of(container("proxy", "trap 'exit 0' TERM; while true; do sleep 0.2; done", "Always", null),
                container("setup", "echo ready", null, null)), List.of(container("job", "sleep 2", null, null)), 5, false);
        await("the job running").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .until(() -> named(pass(w).statuses(), "job").state().equals("running"));
        assertThat(named(reported.get(id).initStatuses(), "proxy").state()).as("beside the job").isEqualTo("running");
        await("the job done, its sidecar stopped").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300))
                .until(() -> named(pass(w).initStatuses(), "proxy").state().equals("terminated"));
        PodRunner.Outcome o = pass(w);
        ContainerStatus job = named(o.statuses(), "job");
        ContainerStatus proxy = named(o.initStatuses(), "proxy");
        assertThat(job.reason()).isEqualTo("Completed");
        assertThat(proxy.finishedAt()).as("stopped after the job ended").isAfterOrEqualTo(job.finishedAt());
        assertThat(proxy.restartCount()).as("not restarted once the job is done").isZero();
    }

    @Test
    void onDeletionTheSidecarStopsAfterTheAppContainer() throws Exception {
        UUID id = UUID.randomUUID();
        // The app container takes 2 s to end after SIGTERM; the sidecar ends at once on its own.
        String slow = "trap 'sleep 2; exit 0' TERM; while true; do sleep 0.2; done";
        String quick = "trap 'exit 0' TERM; while true; do sleep 0.2; done";
        HostWorkload w = pod(id, "Always", List.of(container("proxy", quick, "Always", null)),
                List.of(container("main", slow, null, null)), 10, false);
        await("running").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .until(() -> named(pass(w).statuses(), "main").state().equals("running"));
        Thread.sleep(500); // the traps set
        HostWorkload deleted = pod(id, "Always", w.spec().initContainers(), w.spec().containers(), 10, true);
        PodRunner.Outcome gone = pass(deleted);
        assertThat(gone.gone()).isTrue();
        ContainerStatus main = named(gone.statuses(), "main");
        ContainerStatus proxy = named(gone.initStatuses(), "proxy");
        assertThat(proxy.finishedAt()).as("the sidecar outlived the container it serves").isAfterOrEqualTo(main.finishedAt());
    }

    /** A pod whose app container and two sidecars, {@code first} then {@code second}, run {@code script} each. */
    private HostWorkload twoSidecars(UUID id, String script, long grace, boolean stop) {
        return pod(id, "Always", List.of(container("first", script, "Always", null), container("second", script, "Always", null)),
                List.of(container("main", script, null, null)), grace, stop);
    }

    @Test
    void onDeletionTheSidecarsStopOneByOneTheLastStartedFirstAfterTheApp() throws Exception {
        UUID id = UUID.randomUUID();
        // Each takes 1 s to end after SIGTERM: stopped one after another, each ends a second after the one before.
        String slow = "trap 'sleep 1; exit 0' TERM; while true; do sleep 0.2; done";
        HostWorkload w = twoSidecars(id, slow, 20, false);
        await("running").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .until(() -> named(pass(w).statuses(), "main").state().equals("running"));
        Thread.sleep(500); // the traps set
        PodRunner.Outcome gone = pass(twoSidecars(id, slow, 20, true));
        assertThat(gone.gone()).isTrue();
        ContainerStatus main = named(gone.statuses(), "main");
        ContainerStatus second = named(gone.initStatuses(), "second");
        ContainerStatus first = named(gone.initStatuses(), "first");
        assertThat(List.of(main, second, first)).allSatisfy(s -> assertThat(s.exitCode()).as("ended on its SIGTERM").isZero());
        assertThat(second.finishedAt()).as("the sidecar started last is stopped once the app has ended")
                .isAfterOrEqualTo(main.finishedAt().plusMillis(900));
        assertThat(first.finishedAt()).as("the sidecar started first is stopped last")
                .isAfterOrEqualTo(second.finishedAt().plusMillis(900));
    }

    @Test
    void sidecarsThatIgnoreSigtermGetOnlyWhatIsLeftOfThePodsOneGracePeriod() throws Exception {
        UUID id = UUID.randomUUID();
        String deaf = "trap '' TERM; while true; do sleep 0.2; done";
        HostWorkload w = twoSidecars(id, deaf, 3, false);
        await("running").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .until(() -> named(pass(w).statuses(), "main").state().equals("running"));
        Thread.sleep(500);
        long t0 = System.nanoTime();
        PodRunner.Outcome gone = pass(twoSidecars(id, deaf, 3, true));
        assertThat(gone.gone()).isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("three containers deaf to SIGTERM, one 3 s grace period in all")
                .isLessThan(Duration.ofSeconds(6));
        assertThat(named(gone.initStatuses(), "first").exitCode()).as("killed").isEqualTo(137);
    }
}
