package gpufleet.host.workload;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.model.Container;
import gpufleet.common.api.ContainerStatus;
import gpufleet.common.api.HostDesired;
import gpufleet.common.api.HostWorkload;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.host.docker.DockerRuntime;
import java.nio.file.Path;
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
 * Hostile specs handed straight to the host's reconciler, as if the control-api had let them
 * through: the host re-checks each one itself, on real Docker.
 */
class HostileSpecIT {
    static final String TENANT = "skg00000";
    static DockerClient docker;

    @TempDir
    Path state;
    TestEngine.Wired wired;
    DockerRuntime runtime;
    PortRelay relay;
    Reconciler reconciler;

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
        removeAll();
        wired = TestEngine.Wired.host("hostile-host", state);
        runtime = wired.runtime();
        relay = wired.relay();
        reconciler = wired.reconciler();
    }

    @AfterEach
    void stop() {
        wired.close();
        removeAll();
    }

    private static void removeAll() {
        TestEngine.removeManaged(docker);
    }

    static WorkloadSpec.Container sleeper(String name, String image, String cpu, String memory, List<WorkloadSpec.EnvVar> env) {
        return new WorkloadSpec.Container(name, image, "IfNotPresent", List.of("sleep", "300"), null, env, null,
                new WorkloadSpec.Resources(0, cpu, memory), null, null, null, null);
    }

    static HostWorkload workload(UUID id, List<WorkloadSpec.Container> containers, Map<String, List<String>> gpus) {
        WorkloadSpec spec = new WorkloadSpec("uid-" + id, "default", "hostile", "seeweb-nvidia-1xa6000", containers, "Never", 1L,
                List.of());
        return new HostWorkload(id, TENANT, "uid-" + id, "default", "hostile", spec, gpus, false, List.of());
    }

    PodRunner.Outcome reconcile(HostWorkload w) throws Exception {
        return reconciler.reconcile(new HostDesired(1, List.of(w))).get(w.id());
    }

    static List<InspectContainerResponse> containersOf(UUID workload) {
        return docker.listContainersCmd().withShowAll(true).withLabelFilter(Map.of("org.gpufleet.workload", workload.toString()))
                .exec().stream().map(c -> docker.inspectContainerCmd(c.getId()).exec()).toList();
    }

    @Test
    void aContainerAskingMoreThanTheHostHasIsRefusedBeforeAnythingIsCreated() throws Exception {
        // Within the wire contract's caps, so it reaches the host; Docker itself would take 64Ti as "no limit".
        UUID id = UUID.randomUUID();
        HostWorkload w = workload(id, List.of(sleeper("small", "gpufleet/busybox:test", "100m", "32Mi", List.of()),
                sleeper("greedy", "gpufleet/busybox:test", "100m", "64Ti", List.of())), Map.of());
        PodRunner.Outcome o = reconcile(w);
        assertThat(containersOf(id)).as("containers made for a refused pod (its limits: %s)", containersOf(id).stream()
                .map(i -> i.getHostConfig().getNanoCPUs() + " nanocpus, " + i.getHostConfig().getMemory() + " bytes").toList())
                .isEmpty();
        assertThat(o.statuses()).extracting(ContainerStatus::state, ContainerStatus::reason)
                .containsOnly(org.assertj.core.groups.Tuple.tuple("waiting", "CreateContainerError"));
        assertThat(o.statuses().get(1).message()).startsWith("refused by the host: containers[1].resources.memory: '64Ti' is not between");
        // A second pass still creates nothing.
        reconcile(w);
        assertThat(containersOf(id)).isEmpty();
    }

    @Test
    void cpuBeyondTheHostIsRefusedNamingTheField() throws Exception {
        UUID id = UUID.randomUUID();
        PodRunner.Outcome o = reconcile(workload(id, List.of(sleeper("spin", "gpufleet/busybox:test", "4096", "32Mi", List.of())),
                Map.of()));
        assertThat(containersOf(id)).isEmpty();
        assertThat(o.statuses().get(0).message()).startsWith("refused by the host: containers[0].resources.cpu: '4096' is not between");
    }

    @Test
    void limitsAreConvertedExactly() throws Exception {
        UUID id = UUID.randomUUID();
        reconcile(workload(id, List.of(sleeper("one", "gpufleet/busybox:test", "1500m", "48Mi", List.of())), Map.of()));
        InspectContainerResponse app = containersOf(id).stream()
                .filter(i -> "one".equals(i.getConfig().getLabels().get("org.gpufleet.container"))).findFirst().orElseThrow();
        assertThat(app.getHostConfig().getNanoCPUs()).isEqualTo(1_500_000_000L);
        assertThat(app.getHostConfig().getMemory()).isEqualTo(48L << 20);
    }

    static Map<String, String> envOf(InspectContainerResponse c) {
        Map<String, String> out = new java.util.HashMap<>();
        for (String e : c.getConfig().getEnv()) {
            int eq = e.indexOf('=');
            assertThat(out.put(e.substring(0, eq), e.substring(eq + 1))).as("%s set twice", e.substring(0, eq)).isNull();
        }
        return out;
    }

    static InspectContainerResponse app(UUID workload, String name) {
        return containersOf(workload).stream().filter(i -> name.equals(i.getConfig().getLabels().get("org.gpufleet.container")))
                .findFirst().orElseThrow(() -> new AssertionError("no container " + name + " was made"));
    }

    static void assertAgentsNvidiaEnv(Map<String, String> env, String visible) {
        assertThat(env).containsEntry("NVIDIA_VISIBLE_DEVICES", visible)
                .containsEntry("NVIDIA_DRIVER_CAPABILITIES", "compute,utility")
                .containsEntry("NVIDIA_DISABLE_REQUIRE", "false")
                .containsEntry("NVIDIA_REQUIRE_JETPACK", "")
                .containsEntry("NVIDIA_MIG_CONFIG_DEVICES", "")
                .containsEntry("NVIDIA_MIG_MONITOR_DEVICES", "")
                .containsEntry("NVIDIA_IMEX_CHANNELS", "void")
                .containsEntry("NVIDIA_GDS", "disabled")
                .containsEntry("NVIDIA_MOFED", "disabled")
                .containsEntry("NVIDIA_NVSWITCH", "disabled")
                .containsEntry("NVIDIA_GDRCOPY", "disabled");
    }

    @Test
    void aTenantsNvidiaVariablesNeverReachTheRuntime() throws Exception {
        UUID id = UUID.randomUUID();
        List<WorkloadSpec.EnvVar> env = List.of(new WorkloadSpec.EnvVar("NVIDIA_VISIBLE_DEVICES", "all"),
                new WorkloadSpec.EnvVar("NVIDIA_DRIVER_CAPABILITIES", "all"), new WorkloadSpec.EnvVar("NVIDIA_MOFED", "enabled"),
                new WorkloadSpec.EnvVar("NVIDIA_GDS", "enabled"), new WorkloadSpec.EnvVar("NVIDIA_NVSWITCH", "enabled"),
                new WorkloadSpec.EnvVar("NVIDIA_GDRCOPY", "enabled"), new WorkloadSpec.EnvVar("NVIDIA_IMEX_CHANNELS", "all"),
                new WorkloadSpec.EnvVar("NVIDIA_MIG_CONFIG_DEVICES", "all"), new WorkloadSpec.EnvVar("NVIDIA_MIG_MONITOR_DEVICES", "all"),
                new WorkloadSpec.EnvVar("NVIDIA_DISABLE_REQUIRE", "true"), new WorkloadSpec.EnvVar("NVIDIA_REQUIRE_JETPACK", "csv-mounts=all"),
                new WorkloadSpec.EnvVar("NVIDIA_REQUIRE_CUDA", "cuda>=1.0"), new WorkloadSpec.EnvVar("NVIDIA_FABRIC_NEXT", "enabled"),
                new WorkloadSpec.EnvVar("GREETING", "hi"));
        reconcile(workload(id, List.of(sleeper("gpu", "gpufleet/busybox:test", "100m", "32Mi", env)),
                Map.of("gpu", List.of("GPU-11111111-2222-3333-4444-555555555555"))));
        Map<String, String> actual = envOf(app(id, "gpu"));
        assertAgentsNvidiaEnv(actual, "GPU-11111111-2222-3333-4444-555555555555");
        assertThat(actual).containsEntry("GREETING", "hi").doesNotContainKeys("NVIDIA_REQUIRE_CUDA", "NVIDIA_FABRIC_NEXT");
    }

    @Test
    void anImagesOwnNvidiaVariablesAreOverridden() throws Exception {
        Path dir = state.resolve("image");
        java.nio.file.Files.createDirectories(dir);
        java.nio.file.Files.writeString(dir.resolve("Dockerfile"), """
                FROM gpufleet/busybox:test
                ENV NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=all NVIDIA_GDS=enabled NVIDIA_MOFED=enabled \\
                    NVIDIA_IMEX_CHANNELS=all NVIDIA_FABRIC_NEXT=enabled NVIDIA_REQUIRE_CUDA=cuda>=12.0
                """);
        String image = "gpufleet/nvidia-env:test";
        docker.buildImageCmd(dir.toFile()).withTags(java.util.Set.of(image)).withLabels(Map.of("org.gpufleet.test", "true"))
                .start().awaitImageId();
        UUID id = UUID.randomUUID();
        reconcile(workload(id, List.of(sleeper("cpu", image, "100m", "32Mi", List.of())), Map.of()));
        Map<String, String> actual = envOf(app(id, "cpu"));
        assertAgentsNvidiaEnv(actual, "void");
        assertThat(actual).as("a variable the agent does not know is blanked").containsEntry("NVIDIA_FABRIC_NEXT", "")
                .as("the image's own requirement is only a check, and stays").containsEntry("NVIDIA_REQUIRE_CUDA", "cuda>=12.0");
    }

    @Test
    void theHostsOwnPathsNeverReachTheTenant() throws Exception {
        // A file over a directory of the image: runc refuses it, naming the bind's source under the agent's state directory.
        UUID id = UUID.randomUUID();
        WorkloadSpec.Container c = new WorkloadSpec.Container("files", "gpufleet/busybox:test", "IfNotPresent", List.of("true"), null,
                List.of(), null, new WorkloadSpec.Resources(0, "100m", "32Mi"),
                List.of(new WorkloadSpec.FileMount("/bin", 0644, "eA==")), null, null, null);
        PodRunner.Outcome o = reconcile(workload(id, List.of(c), Map.of()));
        String message = o.statuses().get(0).message();
        assertThat(message).as("the container must fail to start: %s", o.statuses()).isNotNull().contains("not a directory");
        assertThat(message).doesNotContain(state.toAbsolutePath().toString()).doesNotContain("/var/lib/docker")
                .contains(HostPaths.HIDDEN);
    }

    @Test
    void theSandboxImageIsNeverPulled() throws Exception {
        // Not on this engine: pulled by its tag, whoever publishes that name would run in every pod.
        try (TestEngine.Wired absent = TestEngine.Wired.host("hostile-host", state, "gpufleet/pause:absent")) {
            UUID id = UUID.randomUUID();
            PodRunner.Outcome o = absent.reconciler().reconcile(new HostDesired(1, List.of(workload(id,
                    List.of(sleeper("app", "gpufleet/busybox:test", "100m", "32Mi", List.of())), Map.of())))).get(id);
            assertThat(o.statuses().get(0).reason()).isEqualTo("CreateContainerError");
            assertThat(o.statuses().get(0).message()).isEqualTo("pod sandbox: this host is missing its pod sandbox image; the pod starts once it has it");
            assertThat(containersOf(id)).isEmpty();
        }
    }
}
