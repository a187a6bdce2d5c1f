package gpufleet.host.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.HostConfig;
import gpufleet.common.api.ContainerStatus;
import gpufleet.common.api.HostDesired;
import gpufleet.common.api.HostWorkload;
import gpufleet.common.api.Probe;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.host.docker.DockerRuntime;
import gpufleet.host.runtime.DiskLimits;
import java.io.File;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
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

/**
 * gRPC probes against grpc-java's own health server, run (by the test, as the operator) in a
 * container that joins the pod sandbox's network namespace, so that it answers at the pod's address.
 */
class GrpcProbesIT {
    private static final String TENANT = "grpcprb0";
    private static final String HOST = "grpc-probes-01";
    private static final int PORT = 9090;
    static DockerClient docker;

    @TempDir
    Path state;
    final Map<UUID, HostWorkload> desired = new ConcurrentHashMap<>();
    final Map<UUID, PodRunner.Outcome> reported = new ConcurrentHashMap<>();
    DockerRuntime runtime;
    PortRelay relay;
    Probes probes;
    Reconciler reconciler;
    String server;

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
        InitContainersIT.removeOf(docker, HOST);
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
        if (server != null) {
            docker.removeContainerCmd(server).withForce(true).exec();
        }
        reconciler.close();
        probes.close();
        relay.close();
        runtime.close();
        InitContainersIT.removeOf(docker, HOST);
    }

    private static WorkloadSpec.Container probed(String name, String service) {
        Probe grpc = new Probe(new Probe.Handler(null, null, null, new Probe.Grpc(PORT, service), null), 0, 1, 1, 1, 1, null);
        return new WorkloadSpec.Container(name, "gpufleet/busybox:test", "IfNotPresent", List.of("sleep", "600"), null, null,
                null, new WorkloadSpec.Resources(0, "100m", "32Mi", null), null, null, null, null, null, null, null,
                null, grpc, null, null);
    }

    private ContainerStatus status(HostWorkload w, String name) throws Exception {
        reconciler.reconcile(new HostDesired(1, new ArrayList<>(desired.values())));
        return reported.get(w.id()).statuses().stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
    }

    private ContainerStatus until(HostWorkload w, String name, String what, java.util.function.Predicate<ContainerStatus> done) {
        ContainerStatus[] last = new ContainerStatus[1];
        await(what).atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300)).until(() -> {
            last[0] = status(w, name);
            return done.test(last[0]);
        });
        return last[0];
    }

    private static List<String> said(ContainerStatus s) {
        return s.events().stream().map(e -> e.type() + " " + e.reason() + ": " + e.message()).toList();
    }

    /** Starts the health server in the pod's network namespace, on the host's JDK and this test's classpath, all read-only. */
    private String serve(UUID workload, String... statuses) throws Exception {
        String pause = docker.listContainersCmd().withLabelFilter(Map.of(Labels.WORKLOAD, workload.toString(),
                Labels.CONTAINER, Labels.PAUSE)).exec().get(0).getId();
        Path javaHome = Path.of(System.getProperty("java.home")).toRealPath();
        List<Path> roots = new ArrayList<>(List.of(Path.of(System.getProperty("user.home"), ".m2").toRealPath(),
                Path.of("").toAbsolutePath().getParent().toRealPath(), javaHome.getParent()));
        Path security = javaHome.resolve("conf/security/java.security").toRealPath();
        if (!security.startsWith(javaHome.getParent())) {
            roots.add(security.getParent().getParent()); // Debian's JDK keeps its configuration in /etc, linked from conf/
        }
        String classpath = String.join(File.pathSeparator, Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(e -> roots.stream().anyMatch(r -> Path.of(e).toAbsolutePath().startsWith(r))).toList());
        List<String> command = new ArrayList<>(List.of(javaHome.resolve("bin/java").toString(), "-Xmx64m", "-cp", classpath,
                GrpcHealthServer.class.getName(), Integer.toString(PORT)));
        command.addAll(List.of(statuses));
        String id = docker.createContainerCmd("gpufleet/bookworm-host:test").withCmd(command)
                .withHostConfig(HostConfig.newHostConfig().withNetworkMode("container:" + pause)
                        .withBinds(roots.stream().map(r -> Bind.parse(r + ":" + r + ":ro")).toList())).exec().getId();
        docker.startContainerCmd(id).exec();
        return id;
    }

    @Test
    void aGrpcProbeIsTheHealthCheckOfThePodsAddressServingPassesAndAnythingElseFailsInTheKubeletsWords() throws Exception {
        UUID id = UUID.randomUUID();
        WorkloadSpec spec = new WorkloadSpec("uid-" + id, "default", "grpc", "seeweb-nvidia-1xa6000",
                List.of(probed("whole", null), probed("bad", "bad"), probed("unknown", "nobody")), "Always", 1L, List.of());
        HostWorkload w = new HostWorkload(id, TENANT, "uid-" + id, "default", "grpc", spec, Map.of(), false, List.of());
        desired.put(id, w);
        ContainerStatus refused = until(w, "whole", "refused before the server runs", x -> !x.events().isEmpty());
        assertThat(refused.ready()).isFalse();
        assertThat(said(refused).get(0)).startsWith("Warning Unhealthy: Readiness probe failed: error: health rpc probe failed: "
                + "rpc error: code = Unavailable desc = io exception: ").containsIgnoringCase("connection refused");
        server = serve(id, "-", "SERVING", "bad", "NOT_SERVING");
        until(w, "whole", "ready once the server says SERVING", ContainerStatus::ready);
        ContainerStatus bad = until(w, "bad", "the NOT_SERVING service said",
                x -> said(x).contains("Warning Unhealthy: Readiness probe failed: service unhealthy (responded with \"NOT_SERVING\")"));
        assertThat(bad.ready()).isFalse();
        ContainerStatus unknown = until(w, "unknown", "the unknown service said",
                x -> said(x).stream().anyMatch(m -> m.contains("code = NotFound")));
        assertThat(said(unknown)).contains("Warning Unhealthy: Readiness probe failed: error: health rpc probe failed: "
                + "rpc error: code = NotFound desc = unknown service nobody");
        assertThat(status(w, "bad").ready()).isFalse();
        assertThat(status(w, "whole").ready()).isTrue();
    }
}
