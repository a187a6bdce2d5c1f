package gpufleet.host.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.model.Frame;
import com.fasterxml.jackson.databind.JsonMappingException;
import gpufleet.common.Json;
import gpufleet.common.api.ContainerStatus;
import gpufleet.common.api.HostDesired;
import gpufleet.common.api.HostWorkload;
import gpufleet.common.api.PodSettings;
import gpufleet.common.api.WorkloadSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
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

/** A pod's securityContext, emptyDirs, /dev/shm, hostname and /etc/hosts, seen from inside real containers on Docker. */
class PodSettingsIT {
    private static final String TENANT = "settings0";
    private static final String HOST = "settings-01";
    private static final String BUSYBOX = "gpufleet/busybox:test";
    static DockerClient docker;

    @TempDir
    Path state;
    TestEngine.Wired wired;
    final Map<UUID, PodRunner.Outcome> reported = new ConcurrentHashMap<>();
    final List<HostWorkload> started = new ArrayList<>();

    @BeforeAll
    static void docker() throws Exception {
        // Images of other users (gpufleet/busybox:uid1000 and :nobody) are made by dev/services.sh
        // from the local busybox, as other tests use them too (ImageUpdateIT ran before this class
        // on a fresh machine and found none).
        docker = TestEngine.client();
    }

    @AfterAll
    static void closeDocker() throws Exception {
        docker.close();
    }

    @BeforeEach
    void start() {
        TestEngine.removeManaged(docker, HOST);
        wired = TestEngine.Wired.host(HOST, state, "gpufleet/pause:test", reported::put);
    }

    @AfterEach
    void stop() throws Exception {
        for (HostWorkload w : started) {
            wired.reconciler().reconcile(new HostDesired(99, List.of(stopped(w))));
        }
        wired.close();
        TestEngine.removeManaged(docker, HOST);
    }

    static WorkloadSpec.Container container(String name, String image, String script, PodSettings.ContainerSecurity sc,
                                            List<PodSettings.VolumeMount> mounts, List<WorkloadSpec.FileMount> files) {
        return new WorkloadSpec.Container(name, image, "IfNotPresent", List.of("sh", "-c", script), null, null, null,
                new WorkloadSpec.Resources(0, "100m", "64Mi", null), files, null, null, null, null, sc, mounts, null, null, null, null);
    }

    static HostWorkload pod(String name, List<WorkloadSpec.Container> containers, PodSettings.PodSecurity sc,
                            List<PodSettings.Volume> volumes, String hostname, String subdomain, List<PodSettings.HostAlias> aliases) {
        UUID id = UUID.randomUUID();
        WorkloadSpec spec = new WorkloadSpec("uid-" + id, "team-a", name, "seeweb-nvidia-1xa6000", containers, "Never", 1L, List.of(),
                null, sc, volumes, hostname, subdomain, aliases, null, null);
        return new HostWorkload(id, TENANT, "uid-" + id, "team-a", name, spec, Map.of(), false, List.of());
    }

    private static HostWorkload stopped(HostWorkload w) {
        return new HostWorkload(w.id(), w.tenant(), w.podUid(), w.namespace(), w.name(), w.spec(), w.gpus(), true, w.publish());
    }

    /** Runs the pod until every container has ended; their statuses by name. */
    private Map<String, ContainerStatus> runToEnd(HostWorkload w) {
        started.add(w);
        Map<String, ContainerStatus> out = new ConcurrentHashMap<>();
        await("every container of " + w.name() + " ended").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300))
                .until(() -> {
                    wired.reconciler().reconcile(new HostDesired(1, List.of(w)));
                    reported.get(w.id()).statuses().forEach(s -> out.put(s.name(), s));
                    return out.values().stream().allMatch(s -> s.state().equals("terminated"));
                });
        return out;
    }

    private ContainerStatus firstStatus(HostWorkload w) throws Exception {
        started.add(w);
        wired.reconciler().reconcile(new HostDesired(1, List.of(w)));
        return reported.get(w.id()).statuses().get(0);
    }

    static String logs(ContainerStatus s) throws InterruptedException {
        StringBuilder out = new StringBuilder();
        docker.logContainerCmd(s.containerId().replaceFirst("^docker://", "")).withStdOut(true).withStdErr(true)
                .exec(new ResultCallback.Adapter<Frame>() {
                    @Override
                    public void onNext(Frame f) {
                        out.append(new String(f.getPayload(), StandardCharsets.UTF_8));
                    }
                }).awaitCompletion();
        return out.toString();
    }

    private static PodSettings.ContainerSecurity security(Long uid, Boolean nonRoot, Boolean readOnlyRoot, List<String> add,
                                                          List<String> drop) {
        return new PodSettings.ContainerSecurity(uid, null, nonRoot, readOnlyRoot, null, add, drop);
    }

    @Test
    void theProcessRunsAsThePodsUserAndGroupsAndTheAgentsFilesBelongToFsGroup() throws Exception {
        String base64 = Base64.getEncoder().encodeToString("secret-value".getBytes(StandardCharsets.UTF_8));
        String script = "id; stat -c 'file %g %a' /etc/app/token; cat /etc/app/token; echo; stat -c 'dir %g %a' /data; "
                + "touch /data/x && echo wrote";
        HostWorkload w = pod("users", List.of(
                container("main", BUSYBOX, script, null, List.of(new PodSettings.VolumeMount("data", "/data", null, null)),
                        List.of(new WorkloadSpec.FileMount("/etc/app/token", 0400, base64))),
                container("own", BUSYBOX, "id", security(1001L, null, null, null, null), null, null)),
                new PodSettings.PodSecurity(1000L, 3000L, null, 2000L, List.of(4000L)),
                List.of(new PodSettings.Volume("data", null, null)), null, null, null);
        Map<String, ContainerStatus> ended = runToEnd(w);
        String main = logs(ended.get("main"));
        assertThat(main).as("runAsUser, runAsGroup, fsGroup and supplementalGroups").contains("uid=1000 gid=3000")
                .containsPattern("groups=.*2000").containsPattern("groups=.*4000");
        assertThat(main).as("a 0400 Secret file, group fsGroup and readable by it, as the kubelet sets it")
                .contains("file 2000 440").contains("secret-value");
        assertThat(main).as("the emptyDir: 0777, group fsGroup, writable by the pod's user").contains("dir 2000 777").contains("wrote");
        assertThat(logs(ended.get("own"))).as("the container's own runAsUser wins over the pod's").contains("uid=1001 gid=3000");
    }

    @Test
    void runAsNonRootOnARootImageWaitsWithCreateContainerConfigErrorInTheKubeletsWords() throws Exception {
        HostWorkload w = pod("rooted", List.of(container("main", BUSYBOX, "id", security(null, true, null, null, null), null, null)),
                null, null, null, null, null);
        ContainerStatus s = firstStatus(w);
        assertThat(s.state()).isEqualTo("waiting");
        assertThat(s.reason()).isEqualTo("CreateContainerConfigError");
        assertThat(s.message()).isEqualTo("container has runAsNonRoot and image will run as root (pod: \"rooted_team-a(uid-" + w.id()
                + ")\", container: main)");
        assertThat(docker.listContainersCmd().withShowAll(true).withLabelFilter(Map.of(Labels.WORKLOAD, w.id().toString(),
                Labels.CONTAINER, "main")).exec()).as("nothing created for the refused container").isEmpty();
    }

    @Test
    void runAsNonRootWithANamedImageUserCannotBeVerifiedAndWithUid1000Runs() throws Exception {
        ContainerStatus named = firstStatus(pod("named", List.of(container("main", "gpufleet/busybox:nobody", "id",
                security(null, true, null, null, null), null, null)), null, null, null, null, null));
        assertThat(named.reason()).isEqualTo("CreateContainerConfigError");
        assertThat(named.message()).startsWith("container has runAsNonRoot and image has non-numeric user (nobody), cannot verify "
                + "user is non-root (pod: \"named_team-a(");
        Map<String, ContainerStatus> ended = runToEnd(pod("numeric", List.of(container("main", "gpufleet/busybox:uid1000", "id",
                null, null, null)), new PodSettings.PodSecurity(null, null, true, null, null), null, null, null, null));
        assertThat(logs(ended.get("main"))).contains("uid=1000");
    }

    @Test
    void aReadOnlyRootFilesystemRefusesWritesButKeepsTheAgentsMountsAndEmptyDirs() throws Exception {
        String base64 = Base64.getEncoder().encodeToString("cfg".getBytes(StandardCharsets.UTF_8));
        HostWorkload w = pod("readonly", List.of(container("main", BUSYBOX,
                "touch /root-file || echo root-refused; cat /etc/app/c; echo; touch /scratch/x && echo scratch-ok",
                security(null, null, true, null, null), List.of(new PodSettings.VolumeMount("scratch", "/scratch", null, null)),
                List.of(new WorkloadSpec.FileMount("/etc/app/c", null, base64)))), null,
                List.of(new PodSettings.Volume("scratch", null, null)), null, null, null);
        String out = logs(runToEnd(w).get("main"));
        assertThat(out).contains("Read-only file system").contains("root-refused").contains("cfg").contains("scratch-ok");
    }

    @Test
    void capabilitiesDroppedAllLeaveNoneAndBaselinesAreAddedBack() throws Exception {
        HostWorkload w = pod("caps", List.of(
                container("none", BUSYBOX, "grep CapEff /proc/self/status", security(null, null, null, null, List.of("ALL")), null, null),
                container("chown", BUSYBOX, "grep CapEff /proc/self/status",
                        security(null, null, null, List.of("CHOWN"), List.of("ALL")), null, null),
                container("plain", BUSYBOX, "grep CapEff /proc/self/status", null, null, null)), null, null, null, null, null);
        Map<String, ContainerStatus> ended = runToEnd(w);
        assertThat(logs(ended.get("none"))).containsPattern("CapEff:\\s+0000000000000000");
        assertThat(logs(ended.get("chown"))).as("CAP_CHOWN is bit 0").containsPattern("CapEff:\\s+0000000000000001");
        assertThat(logs(ended.get("plain"))).as("Docker's default set without NET_RAW (bit 13)").containsPattern("CapEff:\\s+00000000a80405fb");
    }

    @Test
    void aCapabilityBeyondBaselineNeverReachesTheHost() throws Exception {
        String json = Json.mapper().writeValueAsString(new HostDesired(1, List.of(pod("caps", List.of(container("main", BUSYBOX, "id",
                security(null, null, null, List.of("CHOWN"), null), null, null)), null, null, null, null, null))));
        String hostile = json.replace("\"CHOWN\"", "\"SYS_ADMIN\"");
        assertThat(hostile).contains("SYS_ADMIN");
        assertThatThrownBy(() -> Json.mapper().readValue(hostile, HostDesired.class)).isInstanceOf(JsonMappingException.class)
                .hasMessageContaining("capability 'SYS_ADMIN' may not be added");
        assertThatThrownBy(() -> ContainerSettings.baseline("main", List.of("CHOWN", "SYS_ADMIN")))
                .hasMessage("container main: capability SYS_ADMIN may not be added on this host (Pod Security Baseline)");
    }

    @Test
    void twoContainersShareAnEmptyDirAndTheReaderSeesTheWritersFileThroughItsSubPath() throws Exception {
        HostWorkload w = pod("shared", List.of(
                container("writer", BUSYBOX, "mkdir -p /out/sub && echo hello-from-writer > /out/sub/msg",
                        null, List.of(new PodSettings.VolumeMount("shared", "/out", null, null)), null),
                container("reader", BUSYBOX, "for i in $(seq 100); do [ -f /in/msg ] && break; sleep 0.1; done; cat /in/msg; "
                        + "touch /in/y || echo reader-read-only", null,
                        List.of(new PodSettings.VolumeMount("shared", "/in", true, "sub")), null)),
                null, List.of(new PodSettings.Volume("shared", null, null)), null, null, null);
        String out = logs(runToEnd(w).get("reader"));
        assertThat(out).contains("hello-from-writer").contains("reader-read-only");
        Path dir = state.resolve("volumes").resolve(w.id().toString());
        assertThat(dir.resolve("shared/sub/msg")).exists();
        wired.reconciler().reconcile(new HostDesired(2, List.of(stopped(w))));
        assertThat(dir).as("removed with the pod").doesNotExist();
    }

    @Test
    void aMemoryEmptyDirIsOneTmpfsOfItsSizeSharedByThePodAndRemovedWithIt() throws Exception {
        HostWorkload w = pod("memory", List.of(
                container("writer", BUSYBOX, "df -k /mem; mount | grep ' /mem '; echo in-memory > /mem/f",
                        null, List.of(new PodSettings.VolumeMount("mem", "/mem", null, null)), null),
                container("reader", BUSYBOX, "for i in $(seq 100); do [ -f /m/f ] && break; sleep 0.1; done; cat /m/f",
                        null, List.of(new PodSettings.VolumeMount("mem", "/m", null, null)), null)),
                null, List.of(new PodSettings.Volume("mem", "Memory", "8Mi")), null, null, null);
        Map<String, ContainerStatus> ended = runToEnd(w);
        assertThat(logs(ended.get("writer"))).containsPattern("tmpfs\\s+8192 ").contains("type tmpfs");
        assertThat(logs(ended.get("reader"))).contains("in-memory");
        Map<String, String> labels = Map.of(Labels.WORKLOAD, w.id().toString());
        assertThat(docker.listVolumesCmd().withFilter("label", List.of(Labels.WORKLOAD + "=" + w.id())).exec().getVolumes())
                .as("one volume, held by the sandbox %s", labels).hasSize(1);
        wired.reconciler().reconcile(new HostDesired(2, List.of(stopped(w))));
        assertThat(docker.listVolumesCmd().withFilter("label", List.of(Labels.WORKLOAD + "=" + w.id())).exec().getVolumes())
                .as("removed with the pod").isNullOrEmpty();
    }

    @Test
    void aMemoryEmptyDirAtDevShmSizesThePodsSharedMemorySeenByEveryContainer() throws Exception {
        HostWorkload w = pod("shm", List.of(
                container("trainer", BUSYBOX, "df -k /dev/shm; echo tensor > /dev/shm/t",
                        null, List.of(new PodSettings.VolumeMount("dshm", "/dev/shm", null, null)), null),
                container("worker", BUSYBOX, "for i in $(seq 100); do [ -f /dev/shm/t ] && break; sleep 0.1; done; cat /dev/shm/t",
                        null, null, null)),
                null, List.of(new PodSettings.Volume("dshm", "Memory", "100Mi")), null, null, null);
        Map<String, ContainerStatus> ended = runToEnd(w);
        assertThat(logs(ended.get("trainer"))).containsPattern("shm\\s+102400 ");
        assertThat(logs(ended.get("worker"))).as("one IPC namespace for the pod, as Kubernetes gives").contains("tensor");
    }

    @Test
    void theOfferingsShmSizeIsThePodsDevShmWhenItMountsNoneThereCappedAtThePodsMemory() throws Exception {
        HostWorkload plain = pod("shm-default", List.of(container("main", BUSYBOX, "df -k /dev/shm", null, null, null)),
                null, null, null, null, null);
        HostWorkload sized = new HostWorkload(plain.id(), plain.tenant(), plain.podUid(), plain.namespace(), plain.name(), plain.spec(),
                plain.gpus(), false, plain.publish(), null, 32L << 20);
        assertThat(logs(runToEnd(sized).get("main"))).containsPattern("shm\\s+32768 ");
        // Two containers of 64Mi: an offering's 8Gi gives the pod no more than its 128Mi.
        HostWorkload big = pod("shm-capped", List.of(container("main", BUSYBOX, "df -k /dev/shm", null, null, null),
                container("side", BUSYBOX, "true", null, null, null)), null, null, null, null, null);
        HostWorkload capped = new HostWorkload(big.id(), big.tenant(), big.podUid(), big.namespace(), big.name(), big.spec(),
                big.gpus(), false, big.publish(), null, 8L << 30);
        assertThat(logs(runToEnd(capped).get("main"))).containsPattern("shm\\s+131072 ");
    }

    @Test
    void theHostnameIsThePodsNameOrItsOwnWithSubdomainAndAliasesInEtcHosts() throws Exception {
        Map<String, ContainerStatus> plain = runToEnd(pod("web-7f9c", List.of(container("main", BUSYBOX, "hostname", null, null, null)),
                null, null, null, null, null));
        assertThat(logs(plain.get("main")).trim()).isEqualTo("web-7f9c");
        Map<String, ContainerStatus> named = runToEnd(pod("db-0", List.of(container("main", BUSYBOX, "hostname; cat /etc/hosts",
                null, null, null)), null, null, "primary", "db", List.of(
                new PodSettings.HostAlias("10.1.2.3", List.of("foo.local", "bar.local")))));
        String out = logs(named.get("main"));
        assertThat(out).startsWith("primary\n").contains("10.1.2.3\tfoo.local").contains("10.1.2.3\tbar.local")
                .containsPattern("\\S+\\tprimary\\.db\\.team-a\\.svc\\.cluster\\.local primary");
    }

    @Test
    void aSubPathThroughALinkAContainerMadeIsRefusedAtTheHost() throws Exception {
        HostWorkload maker = pod("links", List.of(
                container("maker", BUSYBOX, "ln -s / /v/escape && echo linked", null,
                        List.of(new PodSettings.VolumeMount("v", "/v", null, null)), null)),
                null, List.of(new PodSettings.Volume("v", null, null)), null, null, null);
        assertThat(logs(runToEnd(maker).get("maker"))).contains("linked");
        // The same pod, now with a container mounting the link as its subPath.
        WorkloadSpec s = maker.spec();
        List<WorkloadSpec.Container> both = List.of(s.containers().get(0), container("victim", BUSYBOX, "ls /host", null,
                List.of(new PodSettings.VolumeMount("v", "/host", null, "escape")), null));
        HostWorkload w = new HostWorkload(maker.id(), TENANT, maker.podUid(), "team-a", "links", new WorkloadSpec(s.podUid(), "team-a",
                "links", s.offering(), both, "Never", 1L, List.of(), null, null, s.volumes(), null, null, null, null, null),
                Map.of(), false, List.of());
        wired.reconciler().reconcile(new HostDesired(2, List.of(w)));
        ContainerStatus victim = reported.get(w.id()).statuses().stream().filter(x -> x.name().equals("victim")).findFirst().orElseThrow();
        assertThat(victim.reason()).isEqualTo("CreateContainerConfigError");
        assertThat(victim.message()).isEqualTo("container victim: subPath 'escape' goes through a symbolic link, which may lead out of "
                + "its volume");
        assertThatThrownBy(() -> PodVolumes.inside(state, "../etc", "c")).hasMessage("container c: subPath '../etc' leaves its volume");
        assertThat(Files.isSymbolicLink(state.resolve("volumes").resolve(w.id().toString()).resolve("v/escape"))).isTrue();
    }
}
