package gpufleet.host.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.github.dockerjava.api.DockerClient;
import gpufleet.common.api.HostWorkload;
import gpufleet.common.api.PodSettings;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.host.docker.DockerRuntime;
import gpufleet.host.runtime.DiskLimits;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Disk fillers on real Docker: containers that write into their writable layer past a limit are
 * found by the agent's measurement and evicted with the kubelet's words; one within its limit is
 * left alone, and nothing is killed before the control-api has been told.
 */
class StorageWatchIT {
    static final String HOST = "storage-host";
    static DockerClient docker;

    @TempDir
    Path state;
    DockerRuntime runtime;
    HostContainers containers;
    /** What the control-api was told. */
    record Eviction(UUID workload, String message) {}

    final List<Eviction> told = new ArrayList<>();
    boolean controlApiAnswers = true;

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
        TestEngine.removeManaged(docker, HOST);
        runtime = new DockerRuntime(TestEngine.DOCKER, "runc");
        containers = new HostContainers(runtime, HOST);
    }

    @AfterEach
    void stop() {
        runtime.close();
        TestEngine.removeManaged(docker, HOST);
    }

    StorageWatch watch(long hostBound) {
        return new StorageWatch(containers, new DiskLimits(hostBound, Duration.ofSeconds(1), 10L << 20, 5), (w, message) -> {
            if (controlApiAnswers) {
                told.add(new Eviction(w, message));
            }
            return controlApiAnswers;
        }, state);
    }

    /** A running container of the workload that writes {@code mib} MiB into its writable layer, then sleeps. */
    String filler(UUID workload, String container, int mib) {
        String id = docker.createContainerCmd("gpufleet/busybox:test")
                .withLabels(Map.of(Labels.MANAGED, "true", Labels.HOST, HOST, Labels.WORKLOAD, workload.toString(),
                        Labels.CONTAINER, container))
                .withCmd("sh", "-c", "dd if=/dev/zero of=/fill bs=1048576 count=" + mib + " && sync && exec sleep 300")
                .exec().getId();
        docker.startContainerCmd(id).exec();
        await().atMost(Duration.ofSeconds(60)).until(() -> runtime.writableBytes(id) >= (long) mib << 20);
        return id;
    }

    /** Measures the pod as its worker would, and returns what it was evicted with (null: not evicted). */
    String check(StorageWatch watch, HostWorkload w) throws Exception {
        return watch.evictIfOver(w, containers.of(w.id().toString()));
    }

    static HostWorkload desired(UUID workload, String... limits) {
        return desired(workload, null, limits);
    }

    /** {@code offering}: the bound of the pod's offering in bytes, null for none. */
    static HostWorkload desired(UUID workload, Long offering, String... limits) {
        List<WorkloadSpec.Container> cs = new ArrayList<>();
        for (int i = 0; i < limits.length; i++) {
            cs.add(new WorkloadSpec.Container("c" + i, "gpufleet/busybox:test", "IfNotPresent", null, null, null, null,
                    new WorkloadSpec.Resources(0, "100m", "64Mi", limits[i]), null, null, null, null));
        }
        WorkloadSpec spec = new WorkloadSpec("uid-" + workload, "default", "filler", "offer", cs, "Always", 1L, List.of());
        return new HostWorkload(workload, "tenant", "uid-" + workload, "default", "filler", spec, Map.of(), false, List.of(),
                offering);
    }

    boolean running(String id) {
        return Boolean.TRUE.equals(docker.inspectContainerCmd(id).exec().getState().getRunning());
    }

    @Test
    void aContainerPastItsOwnLimitIsEvictedWithTheKubeletsWords() throws Exception {
        UUID w = UUID.randomUUID();
        String id = filler(w, "c0", 40);
        String evicted = check(watch(1L << 40), desired(w, "20Mi"));
        assertThat(told).containsExactly(new Eviction(w, "Container c0 exceeded its local ephemeral storage limit \"20Mi\"."));
        assertThat(evicted).isEqualTo(told.get(0).message());
        assertThat(running(id)).as("the evicted container is killed").isFalse();
    }

    @Test
    void aPodWithoutLimitsIsHeldToTheHostsBound() throws Exception {
        UUID w = UUID.randomUUID();
        String a = filler(w, "c0", 15);
        String b = filler(w, "c1", 15);
        check(watch(20L << 20), desired(w, null, new String[] {null, null}));
        assertThat(told).extracting(Eviction::message)
                .containsExactly("Pod ephemeral local storage usage exceeds the limit of 20Mi per pod on this host.");
        assertThat(running(a) || running(b)).isFalse();
    }

    @Test
    void aLimitAboveTheHostsBoundDoesNotLiftIt() throws Exception {
        UUID w = UUID.randomUUID();
        filler(w, "c0", 30);
        check(watch(20L << 20), desired(w, "1Ti"));
        assertThat(told).extracting(Eviction::message)
                .containsExactly("Pod ephemeral local storage usage exceeds the limit of 20Mi per pod on this host.");
    }

    @Test
    void theOfferingsBoundHoldsWhateverThePodAsks() throws Exception {
        UUID w = UUID.randomUUID();
        filler(w, "c0", 30);
        check(watch(1L << 40), desired(w, 20L << 20, "1Ti"));
        assertThat(told).extracting(Eviction::message)
                .containsExactly("Pod ephemeral local storage usage exceeds the limit of 20Mi per pod of its RuntimeClass.");
    }

    @Test
    void aPodWithinItsLimitsRuns() throws Exception {
        UUID w = UUID.randomUUID();
        String id = filler(w, "c0", 20);
        check(watch(1L << 30), desired(w, "100Mi"));
        assertThat(told).isEmpty();
        assertThat(running(id)).isTrue();
    }

    /** A pod with a disk emptyDir "scratch" of {@code sizeLimit} (null: none) holding {@code mib} MiB, as a container wrote it. */
    HostWorkload withScratch(UUID workload, String sizeLimit, int mib) throws Exception {
        HostWorkload d = desired(workload, new String[] {null});
        WorkloadSpec s = d.spec();
        Path dir = Files.createDirectories(state.resolve("volumes").resolve(workload.toString()).resolve("scratch").resolve("sub"));
        Files.write(dir.resolve("blob"), new byte[mib << 20]);
        WorkloadSpec spec = new WorkloadSpec(s.podUid(), s.namespace(), s.name(), s.offering(), s.containers(), "Always", 1L, List.of(),
                null, null, List.of(new PodSettings.Volume("scratch", null, sizeLimit)), null, null, null, null, null);
        return new HostWorkload(workload, d.tenant(), d.podUid(), d.namespace(), d.name(), spec, Map.of(), false, List.of(), null);
    }

    @Test
    void anEmptyDirPastItsSizeLimitEvictsThePodWithTheKubeletsWords() throws Exception {
        UUID w = UUID.randomUUID();
        String id = filler(w, "c0", 1);
        check(watch(1L << 40), withScratch(w, "10Mi", 12));
        assertThat(told).extracting(Eviction::message).containsExactly("Usage of EmptyDir volume \"scratch\" exceeds the limit \"10Mi\".");
        assertThat(running(id)).isFalse();
    }

    @Test
    void anEmptyDirsFilesCountTowardThePodsBound() throws Exception {
        UUID w = UUID.randomUUID();
        filler(w, "c0", 12);
        StorageWatch watch = watch(20L << 20);
        check(watch, withScratch(w, null, 6));
        assertThat(told).as("12Mi of layer and 6Mi of emptyDir are within 20Mi").isEmpty();
        check(watch, withScratch(w, null, 12));
        assertThat(told).extracting(Eviction::message)
                .containsExactly("Pod ephemeral local storage usage exceeds the limit of 20Mi per pod on this host.");
    }

    @Test
    void nothingIsKilledBeforeTheControlApiKnows() throws Exception {
        UUID w = UUID.randomUUID();
        String id = filler(w, "c0", 30);
        controlApiAnswers = false;
        StorageWatch watch = watch(1L << 40);
        assertThat(check(watch, desired(w, "10Mi"))).isNull();
        assertThat(running(id)).as("the pod keeps running until its eviction is recorded").isTrue();
        controlApiAnswers = true;
        assertThat(check(watch, desired(w, "10Mi"))).isNotNull();
        assertThat(running(id)).isFalse();
    }
}
