package gpufleet.host.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.Frame;
import gpufleet.common.api.ContainerStatus;
import gpufleet.common.api.HostDesired;
import gpufleet.common.api.HostWorkload;
import gpufleet.common.api.Probe;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.host.docker.DockerRuntime;
import gpufleet.host.runtime.DiskLimits;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
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

/** The kubelet's probes run by the host on real containers: readiness, liveness, startup; exec, httpGet, tcpSocket. */
class ProbesIT {
    private static final String TENANT = "probes00";
    private static final String HOST = "probes-01";
    /** A web server whose /cgi-bin/ready answers 200 once /tmp/ready exists, 503 before; /cgi-bin/away redirects off the pod. */
    private static final List<String> SERVER = List.of("sh", "-c", "mkdir -p /www/cgi-bin && cd /www/cgi-bin"
            + " && printf '#!/bin/sh\\nif [ -f /tmp/ready ]; then printf \"HTTP/1.0 200 OK\\\\r\\\\n\\\\r\\\\nok\"; else printf \"HTTP/1.0 503 Service Unavailable\\\\r\\\\n\\\\r\\\\nno\"; fi\\n' > ready"
            + " && printf '#!/bin/sh\\nprintf \"HTTP/1.0 302 Found\\\\r\\\\nLocation: http://192.0.2.1:9/elsewhere\\\\r\\\\n\\\\r\\\\nmoved\"\\n' > away"
            + " && printf '#!/bin/sh\\nprintf \"HTTP/1.0 302 Found\\\\r\\\\nLocation: /cgi-bin/ready\\\\r\\\\n\\\\r\\\\n\"\\n' > here"
            + " && printf '#!/bin/sh\\nsleep 30\\n' > hang"
            + " && chmod +x ready away here hang && touch /tmp/alive && exec httpd -f -p 8080 -h /www");
    static DockerClient docker;

    @TempDir
    Path state;
    final Map<UUID, HostWorkload> desired = new ConcurrentHashMap<>();
    final Map<UUID, PodRunner.Outcome> reported = new ConcurrentHashMap<>();
    DockerRuntime runtime;
    PortRelay relay;
    Probes probes;
    Reconciler reconciler;

    @BeforeAll
    static void docker() {
        docker = TestEngine.client();
    }

    @AfterAll
    static void closeDocker() throws Exception {
        docker.close();
    }

    /** Removes this test's containers only: other tests on the same engine keep theirs. */
    static void removeOurs() {
        for (Container c : docker.listContainersCmd().withShowAll(true).withLabelFilter(Labels.ofHost(HOST)).exec()) {
            try {
                docker.removeContainerCmd(c.getId()).withForce(true).exec();
            } catch (NotFoundException | ConflictException e) {
                // Already going.
            }
        }
    }

    @BeforeEach
    void start() {
        removeOurs();
        runtime = new DockerRuntime(TestEngine.DOCKER, "nvidia");
        relay = new PortRelay(InetAddress.getLoopbackAddress());
        HostContainers containers = new HostContainers(runtime, HOST);
        TenantNetworks networks = new TenantNetworks(runtime);
        probes = new Probes(runtime, desired::get, () -> { });
        PodRunner.Progress report = (id, o) -> {
            if (o != null) {
                reported.put(id, probes.annotate(id, o));
            }
        };
        PodRunner pods = new PodRunner(containers, new PodFiles(state), new RestartBackoff(Duration.ofSeconds(1)), "nvidia",
                "gpufleet/pause:test", 4096, report, relay, TestEngine.firewall(), networks, DiskLimits.DEFAULTS, probes::startupPassed);
        reconciler = new Reconciler(containers, pods, relay, networks, report, probes);
    }

    @AfterEach
    void stop() {
        reconciler.close();
        probes.close();
        relay.close();
        runtime.close();
        removeOurs();
    }

    static Probe exec(int period, int failures, String... command) {
        return new Probe(new Probe.Handler(List.of(command), null, null, null, null), 0, period, 1, 1, failures, null);
    }

    static Probe http(String path, int timeout) {
        return new Probe(new Probe.Handler(null, new Probe.HttpGet(path, 8080, "HTTP", null), null, null, null), 0, 1, timeout, 1, 1,
                null);
    }

    static Probe tcp(int port) {
        return new Probe(new Probe.Handler(null, null, port, null, null), 0, 1, 1, 1, 1, null);
    }

    private HostWorkload pod(List<String> command, Probe liveness, Probe readiness, Probe startup) {
        UUID id = UUID.randomUUID();
        WorkloadSpec.Container c = new WorkloadSpec.Container("main", "gpufleet/busybox:test", "IfNotPresent", command, null, null,
                null, new WorkloadSpec.Resources(0, "100m", "32Mi", null), null, null, null, null, null, null, null,
                liveness, readiness, startup, null);
        WorkloadSpec spec = new WorkloadSpec("uid-" + id, "default", "probed", "seeweb-nvidia-1xa6000", List.of(c), "Always", 1L, List.of());
        HostWorkload w = new HostWorkload(id, TENANT, "uid-" + id, "default", "probed", spec, Map.of(), false, List.of());
        desired.put(id, w);
        return w;
    }

    /** One pass over every desired pod, as the loop runs them; the status the host reports for {@code w}. */
    private ContainerStatus pass(HostWorkload w) throws Exception {
        reconciler.reconcile(new HostDesired(1, new ArrayList<>(desired.values())));
        return reported.get(w.id()).statuses().get(0);
    }

    private ContainerStatus until(HostWorkload w, String what, int seconds, java.util.function.Predicate<ContainerStatus> done) {
        ContainerStatus[] last = new ContainerStatus[1];
        await(what).atMost(Duration.ofSeconds(seconds)).pollInterval(Duration.ofMillis(300)).until(() -> {
            last[0] = pass(w);
            return done.test(last[0]);
        });
        return last[0];
    }

    private static List<String> said(ContainerStatus s) {
        return s.events().stream().map(e -> e.type() + " " + e.reason() + ": " + e.message()).toList();
    }

    private void dockerExec(ContainerStatus s, String... command) throws InterruptedException {
        String id = s.containerId().replaceFirst("^docker://", "");
        String exec = docker.execCreateCmd(id).withCmd(command).exec().getId();
        docker.execStartCmd(exec).start().awaitCompletion();
    }

    /** What {@code command} wrote, run in the container of {@code s}. */
    private static String dockerOutput(ContainerStatus s, String... command) throws InterruptedException {
        String id = s.containerId().replaceFirst("^docker://", "");
        String exec = docker.execCreateCmd(id).withCmd(command).withAttachStdout(true).withAttachStderr(true).exec().getId();
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
    void anExecProbePastItsTimeoutIsKilledInsideTheContainer() throws Exception {
        // One try every 10 s, each given 1 s: once its failure is said, its command must be gone before the next.
        HostWorkload w = pod(SERVER, null, new Probe(new Probe.Handler(List.of("sleep", "30"), null, null, null, null),
                0, 10, 1, 1, 1, null), null);
        ContainerStatus s = until(w, "the exec probe timed out", 30, x -> !x.events().isEmpty());
        assertThat(said(s)).containsExactly("Warning Unhealthy: Readiness probe failed: command \"sleep 30\" timed out");
        assertThat(s.ready()).isFalse();
        String ps = dockerOutput(s, "ps", "-o", "pid,args");
        assertThat(ps).as("the processes in the container").contains("httpd").doesNotContain("sleep 30");
    }

    @Test
    void anHttpReadinessProbeDrivesReadyBothWaysWithTheKubeletsEvents() throws Exception {
        HostWorkload w = pod(SERVER, null, http("/cgi-bin/ready", 1), null);
        String failed = "Warning Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 503";
        ContainerStatus s = until(w, "a failed readiness probe said", 30, x -> said(x).contains(failed));
        assertThat(s.state()).isEqualTo("running");
        assertThat(s.ready()).as("running is not ready while the probe fails").isFalse();
        dockerExec(s, "touch", "/tmp/ready");
        until(w, "ready once the path answers 200", 15, ContainerStatus::ready);
        dockerExec(s, "rm", "/tmp/ready");
        ContainerStatus again = until(w, "not ready again", 15, x -> !x.ready());
        assertThat(again.restartCount()).as("readiness never restarts").isZero();
        assertThat(said(again)).as("a second failing streak is a second Event").filteredOn(failed::equals).hasSize(2);
    }

    @Test
    void aFailedLivenessProbeKillsTheContainerAndItsPolicyRestartsIt() throws Exception {
        HostWorkload w = pod(SERVER, exec(1, 2, "test", "-f", "/tmp/alive"), null, null);
        ContainerStatus s = until(w, "running", 30, x -> x.state().equals("running"));
        Thread.sleep(3000);
        assertThat(pass(w).restartCount()).as("alive while its file is there").isZero();
        dockerExec(s, "rm", "/tmp/alive");
        ContainerStatus restarted = until(w, "restarted after two failures", 40,
                x -> x.restartCount() == 1 && x.state().equals("running"));
        assertThat(said(restarted)).containsExactly("Warning Unhealthy: Liveness probe failed:",
                "Normal Killing: Container main failed liveness probe, will be restarted");
        assertThat(restarted.lastState().exitCode()).as("stopped by the host: %s", restarted.lastState()).isIn(137, 143);
    }

    @Test
    void startupGatesLivenessAndReadinessUntilItPassesAndAFailedStartupKills() throws Exception {
        HostWorkload w = pod(SERVER, exec(1, 1, "false"), exec(1, 1, "true"), exec(1, 60, "test", "-f", "/tmp/started"));
        ContainerStatus s = until(w, "running", 30, x -> x.state().equals("running"));
        Thread.sleep(4000);
        ContainerStatus waiting = pass(w);
        assertThat(waiting.restartCount()).as("a liveness probe that always fails is not run before startup passed").isZero();
        assertThat(waiting.ready()).as("nor readiness").isFalse();
        assertThat(waiting.events()).as("a startup probe still within its failureThreshold says it failed").isNotEmpty()
                .allSatisfy(e -> assertThat(e.message()).startsWith("Startup probe failed"));
        dockerExec(s, "touch", "/tmp/started");
        ContainerStatus killed = until(w, "liveness runs once started, and kills", 30, x -> x.restartCount() == 1);
        assertThat(said(killed)).contains("Normal Killing: Container main failed liveness probe, will be restarted");

        HostWorkload never = pod(SERVER, null, null, exec(1, 2, "false"));
        ContainerStatus failed = until(never, "killed for its startup probe", 40, x -> x.restartCount() == 1);
        assertThat(said(failed)).contains("Normal Killing: Container main failed startup probe, will be restarted");
    }

    @Test
    void startedIsFalseUntilTheStartupProbePassesAndTrueAtOnceWithoutOne() throws Exception {
        HostWorkload w = pod(SERVER, null, null, exec(1, 60, "test", "-f", "/tmp/started"));
        HostWorkload plain = pod(SERVER, null, null, null);
        ContainerStatus s = until(w, "running", 30, x -> x.state().equals("running"));
        assertThat(until(plain, "running", 30, x -> x.state().equals("running")).started()).as("no startup probe: started once running")
                .isTrue();
        Thread.sleep(2500); // a few failed startup probes
        assertThat(pass(w).started()).as("running, its startup probe failing").isFalse();
        dockerExec(s, "touch", "/tmp/started");
        ContainerStatus started = until(w, "started once the probe passes", 15, x -> Boolean.TRUE.equals(x.started()));
        assertThat(started.restartCount()).isZero();
    }

    @Test
    void theNextInitContainerWaitsUntilASidecarsStartupProbePasses() throws Exception {
        UUID id = UUID.randomUUID();
        WorkloadSpec.Container proxy = new WorkloadSpec.Container("proxy", "gpufleet/busybox:test", "IfNotPresent",
                List.of("sleep", "3600"), null, null, null, new WorkloadSpec.Resources(0, "100m", "32Mi", null), null, null, null, null,
                "Always", null, null, null, null, exec(1, 60, "test", "-f", "/tmp/ready"), null);
        WorkloadSpec.Container after = InitContainersIT.container("after", "exit 0", null, null);
        WorkloadSpec.Container main = InitContainersIT.container("main", "exec sleep 3600", null, null);
        WorkloadSpec spec = new WorkloadSpec("uid-" + id, "default", "gated", "seeweb-nvidia-1xa6000", List.of(main), "Always", 1L,
                List.of(), List.of(proxy, after), null, null, null, null, null, null, null);
        HostWorkload w = new HostWorkload(id, TENANT, "uid-" + id, "default", "gated", spec, Map.of(), false, List.of());
        desired.put(id, w);
        PodRunner.Outcome[] o = new PodRunner.Outcome[1];
        await("the sidecar runs").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300)).until(() -> {
            pass(w);
            o[0] = reported.get(id);
            return o[0].initStatuses().get(0).state().equals("running");
        });
        Thread.sleep(2500); // a few failed startup probes
        pass(w);
        o[0] = reported.get(id);
        assertThat(o[0].initStatuses().get(0).started()).as("the sidecar's startup probe fails so far").isFalse();
        assertThat(o[0].initStatuses().get(1).reason()).as("the next init container waits for it").isEqualTo(InitOrder.INITIALIZING);
        assertThat(o[0].statuses().get(0).reason()).isEqualTo(InitOrder.INITIALIZING);
        dockerExec(o[0].initStatuses().get(0), "touch", "/tmp/ready");
        await("the pod goes on once the sidecar has started").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300))
                .until(() -> {
                    pass(w);
                    o[0] = reported.get(id);
                    return o[0].statuses().get(0).state().equals("running");
                });
        assertThat(o[0].initStatuses().get(1).state()).isEqualTo("terminated");
        assertThat(o[0].initStatuses().get(1).exitCode()).isZero();
    }

    @Test
    void tcpSocketProbesConnectToThePodsOwnAddress() throws Exception {
        HostWorkload open = pod(SERVER, null, tcp(8080), null);
        HostWorkload closed = pod(SERVER, null, tcp(8081), null);
        until(open, "ready: port 8080 answers", 30, ContainerStatus::ready);
        ContainerStatus s = until(closed, "a refused connection said", 30, x -> !x.events().isEmpty());
        assertThat(s.ready()).isFalse();
        assertThat(said(s)).first().asString().matches(
                "Warning Unhealthy: Readiness probe failed: dial tcp [0-9]+(\\.[0-9]+){3}:8081: connect: connection refused");
    }

    @Test
    void aRedirectOffThePodIsNotFollowedAndCountsAsSuccessWithAWarning() throws Exception {
        HostWorkload away = pod(SERVER, null, http("/cgi-bin/away", 1), null);
        HostWorkload here = pod(SERVER, null, http("/cgi-bin/here", 1), null);
        ContainerStatus s = until(away, "ready on the redirect", 30, ContainerStatus::ready);
        assertThat(said(s)).contains("Warning ProbeWarning: Readiness probe warning: Probe terminated redirects, Response body: moved");
        // The same host's redirect is followed: to /cgi-bin/ready, which answers 503.
        ContainerStatus followed = until(here, "the followed redirect's answer", 30, x -> said(x).stream().anyMatch(m -> m.contains("503")));
        assertThat(followed.ready()).isFalse();
    }

    @Test
    void aHangingProbeEndsAtItsTimeoutAndHoldsUpNeitherThePodsSyncNorAnotherPod() throws Exception {
        // /cgi-bin/hang never answers: the HTTP probe hangs until its timeout; so does the exec's sleep.
        HostWorkload hung = pod(SERVER, null, http("/cgi-bin/hang", 1), null);
        HostWorkload slow = pod(SERVER, null, new Probe(new Probe.Handler(List.of("sleep", "30"), null, null, null, null),
                0, 1, 2, 1, 1, null), null);
        HostWorkload healthy = pod(SERVER, null, tcp(8080), null);
        until(healthy, "the other pod ready", 30, ContainerStatus::ready);
        // Until httpd listens, the first tries may be refused: wait for the hanging one's words.
        ContainerStatus h = until(hung, "the HTTP probe timed out", 20, x -> said(x).stream().anyMatch(m -> m.contains("deadline")));
        assertThat(said(h)).last().asString().matches("Warning Unhealthy: Readiness probe failed: Get \"http://[0-9]+(\\.[0-9]+){3}:8080/cgi-bin/hang\": "
                + "context deadline exceeded \\(Client.Timeout exceeded while awaiting headers\\)");
        assertThat(h.ready()).isFalse();
        ContainerStatus e = until(slow, "the exec probe timed out", 20, x -> !x.events().isEmpty());
        assertThat(said(e)).containsExactly("Warning Unhealthy: Readiness probe failed: command \"sleep 30\" timed out");
        long t0 = System.nanoTime();
        pass(healthy);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("a pass over three pods while two probes hang")
                .isLessThan(Duration.ofSeconds(2));
        assertThat(pass(healthy).ready()).isTrue();
    }
}
