package gpufleet.host.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonMappingException;
import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.model.Frame;
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
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A ConfigMap or Secret volume's files change under a running container, as on a kubelet: the
 * container sees the new content, a new key and no removed key, without a restart; a file mounted
 * alone (subPath) keeps what it started with. Keys the host could be led astray by are refused.
 */
class VolumeFilesIT {
    private static final String HOST = "volume-files-01";
    private static final String CONFIG = "/etc/config";
    static DockerClient docker;

    @TempDir
    Path state;
    TestEngine.Wired wired;
    final Map<UUID, PodRunner.Outcome> reported = new ConcurrentHashMap<>();
    final List<HostWorkload> started = new ArrayList<>();

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
        wired = TestEngine.Wired.host(HOST, state, "gpufleet/pause:test", reported::put);
    }

    @AfterEach
    void stop() throws Exception {
        for (HostWorkload w : started) {
            wired.reconciler().reconcile(new HostDesired(99, List.of(new HostWorkload(w.id(), w.tenant(), w.podUid(), w.namespace(),
                    w.name(), w.spec(), w.gpus(), true, w.publish()))));
        }
        wired.close();
        TestEngine.removeManaged(docker, HOST);
    }

    private static WorkloadSpec.FileMount key(String key, String content) {
        return new WorkloadSpec.FileMount(CONFIG + "/" + key, 0440, b64(content), CONFIG);
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    private static HostWorkload pod(UUID id, List<WorkloadSpec.FileMount> files) {
        WorkloadSpec.Container c = PodSettingsIT.container("main", "gpufleet/busybox:test", "sleep 3600", null, null, files);
        WorkloadSpec spec = new WorkloadSpec("uid-" + id, "team-a", "cfg", "seeweb-nvidia-1xa6000", List.of(c), "Always", 1L, List.of(),
                null, new PodSettings.PodSecurity(null, null, null, 2000L, null), null, null, null, null, null, null);
        return new HostWorkload(id, "volumes0", "uid-" + id, "team-a", "cfg", spec, Map.of(), false, List.of());
    }

    /** Reconciles {@code w} until its container runs; its status. */
    private ContainerStatus running(HostWorkload w) {
        started.add(w);
        ContainerStatus[] last = new ContainerStatus[1];
        await("main of " + w.name() + " running").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300)).until(() -> {
            wired.reconciler().reconcile(new HostDesired(1, List.of(w)));
            last[0] = reported.get(w.id()).statuses().get(0);
            return last[0].state().equals("running");
        });
        return last[0];
    }

    private static String inside(ContainerStatus s, String script) throws InterruptedException {
        String exec = docker.execCreateCmd(s.containerId().replaceFirst("^docker://", "")).withCmd("sh", "-c", script)
                .withAttachStdout(true).withAttachStderr(true).exec().getId();
        StringBuilder out = new StringBuilder();
        docker.execStartCmd(exec).exec(new ResultCallback.Adapter<Frame>() {
            @Override
            public void onNext(Frame f) {
                out.append(new String(f.getPayload(), StandardCharsets.UTF_8));
            }
        }).awaitCompletion();
        return out.toString();
    }

    @Test
    void aRunningContainerSeesTheVolumesNewFilesWithoutARestartAndItsSubPathFileKeepsItsOwn() throws Exception {
        UUID id = UUID.randomUUID();
        WorkloadSpec.FileMount dir = new WorkloadSpec.FileMount(CONFIG, null, "", CONFIG);
        WorkloadSpec.FileMount alone = new WorkloadSpec.FileMount("/etc/single.conf", 0444, b64("fixed"));
        ContainerStatus before = running(pod(id, List.of(dir, key("a", "one"), key("b", "two"), key("sub/c", "deep"), alone)));
        String cat = "for f in a b sub/c d; do echo \"$f=$(cat " + CONFIG + "/$f 2>/dev/null || echo none)\"; done; "
                + "cat /etc/single.conf; echo; readlink " + CONFIG + "/a; readlink " + CONFIG + "/..data; stat -L -c '%g %a' " + CONFIG + "/a";
        String first = inside(before, cat);
        assertThat(first).contains("a=one", "b=two", "sub/c=deep", "d=none", "fixed", "..data/a")
                .as("the key's file belongs to fsGroup, readable by it").contains("2000 440");

        HostWorkload changed = pod(id, List.of(dir, key("a", "uno"), key("sub/c", "deeper"), key("d", "new"),
                new WorkloadSpec.FileMount("/etc/single.conf", 0444, b64("changed"))));
        ContainerStatus after = running(changed);
        String second = inside(after, cat);
        assertThat(second).as("new content, a new key, a removed key gone").contains("a=uno", "b=none", "sub/c=deeper", "d=new");
        assertThat(second).as("a file mounted alone never changes, as a subPath mount").contains("fixed").doesNotContain("changed");
        assertThat(after.containerId()).as("the same container").isEqualTo(before.containerId());
        assertThat(after.restartCount()).isZero();
        Path volume;
        try (Stream<Path> dirs = Files.list(state.resolve("workloads").resolve(id.toString()).resolve("main"))) {
            volume = dirs.filter(p -> p.getFileName().toString().startsWith("v-")).findFirst().orElseThrow();
        }
        try (Stream<Path> data = Files.list(volume)) {
            assertThat(data.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("..2")).toList())
                    .as("the old data directory is removed once ..data points at the new one").hasSize(1);
        }
        assertThat(Files.readSymbolicLink(volume.resolve("a"))).isEqualTo(Path.of("..data/a"));
    }

    @Test
    void keysThatWouldLeaveTheVolumeOrTakeTheHostsOwnNamesNeverReachTheHost() throws Exception {
        String json = Json.mapper().writeValueAsString(new HostDesired(1, List.of(pod(UUID.randomUUID(), List.of(key("a", "x"))))));
        assertThat(json).contains("\"path\":\"/etc/config/a\"");
        for (String[] attack : new String[][] {
            {"/etc/config/../x", "must not contain '..'"},
            {"/etc/config/..data", "must not start with '..'"},
            {"/etc/config/..data/a", "must not start with '..'"},
            {"/etc/passwd", "is not inside its volume '/etc/config'"},
            {"/etc/config//a", "must be a relative path"},
        }) {
            String hostile = json.replace("\"path\":\"/etc/config/a\"", "\"path\":\"" + attack[0] + "\"");
            assertThatThrownBy(() -> Json.mapper().readValue(hostile, HostDesired.class)).as(attack[0])
                    .isInstanceOf(JsonMappingException.class).hasMessageContaining(attack[1]);
        }
        String outside = json.replace("\"volume\":\"/etc/config\"", "\"volume\":\"/proc/sys\"")
                .replace("\"path\":\"/etc/config/a\"", "\"path\":\"/proc/sys/a\"");
        assertThatThrownBy(() -> Json.mapper().readValue(outside, HostDesired.class)).isInstanceOf(JsonMappingException.class)
                .hasMessageContaining("is under /proc");
    }

    @Test
    void aKeyInsideAnotherKeysFileWaitsWithCreateContainerConfigErrorAndWritesNothingOutside() throws Exception {
        UUID id = UUID.randomUUID();
        HostWorkload w = pod(id, List.of(key("a", "file"), key("a/b", "under a file")));
        started.add(w);
        wired.reconciler().reconcile(new HostDesired(1, List.of(w)));
        ContainerStatus s = reported.get(id).statuses().get(0);
        assertThat(s.state()).isEqualTo("waiting");
        assertThat(s.reason()).isEqualTo("CreateContainerConfigError");
        assertThat(s.message()).contains("key 'a/b' is inside another key's file");
    }
}
