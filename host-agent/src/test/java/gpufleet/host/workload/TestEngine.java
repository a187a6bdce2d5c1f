package gpufleet.host.workload;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import gpufleet.common.api.HostCondition;
import gpufleet.host.docker.DockerRuntime;
import gpufleet.host.net.PodFirewall;
import gpufleet.host.net.ProcessTables;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** The real Docker Engine the workload tests run on, and a host's reconciler wired as the agent wires it. */
final class TestEngine {
    static final String DOCKER = "unix:///var/run/docker.sock";

    private TestEngine() {}

    /** A client for inspecting what the agent made; fails loudly when Docker is not running (dev/services.sh). */
    static DockerClient client() {
        var cfg = DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost(DOCKER).build();
        DockerClient docker = DockerClientImpl.getInstance(cfg, new ZerodepDockerHttpClient.Builder().dockerHost(cfg.getDockerHost()).build());
        docker.pingCmd().exec();
        return docker;
    }

    /** Removes every container an agent made (label org.gpufleet.managed), running or not. */
    static void removeManaged(DockerClient docker) {
        for (Container c : docker.listContainersCmd().withShowAll(true).withLabelFilter(Map.of(Labels.MANAGED, "true")).exec()) {
            docker.removeContainerCmd(c.getId()).withForce(true).exec();
        }
    }

    /**
     * Removes the containers one test host made, running or not; what other programs on the same
     * engine run (a soak's agents) is left alone, and a container they remove meanwhile is fine.
     */
    static void removeManaged(DockerClient docker, String host) {
        for (Container c : docker.listContainersCmd().withShowAll(true).withLabelFilter(Map.of(Labels.MANAGED, "true", Labels.HOST, host))
                .exec()) {
            try {
                docker.removeContainerCmd(c.getId()).withForce(true).exec();
            } catch (NotFoundException | ConflictException gone) {
                // Removed meanwhile.
            }
        }
    }

    private static PodFirewall firewall;

    /** The machine's pod firewall, as an agent puts it in place; every workload test's pods run behind it. */
    static synchronized PodFirewall firewall() {
        if (firewall == null) {
            firewall = new PodFirewall(true, List.of(), ProcessTables.resolvers(Path.of("/etc/resolv.conf")), new ProcessTables());
        }
        HostCondition c = firewall.ensure();
        if (!c.status().equals("True")) {
            throw new IllegalStateException("the pod firewall cannot be put in place: " + c.message());
        }
        return firewall;
    }

    /** One host's reconciler with its runtime and port relay, without a control-api. */
    record Wired(DockerRuntime runtime, PortRelay relay, Reconciler reconciler, TenantNetworks networks) implements AutoCloseable {
        static Wired host(String host, Path state) {
            return host(host, state, "gpufleet/pause:test");
        }

        static Wired host(String host, Path state, String pauseImage) {
            return host(host, state, pauseImage, (w, o) -> { });
        }

        /** {@code reports}: each workload's outcome as its worker reports it, from the worker's thread. */
        static Wired host(String host, Path state, String pauseImage, PodRunner.Progress reports) {
            DockerRuntime runtime = new DockerRuntime(DOCKER, "nvidia");
            PortRelay relay = new PortRelay(InetAddress.getLoopbackAddress());
            HostContainers containers = new HostContainers(runtime, host);
            TenantNetworks networks = new TenantNetworks(runtime);
            PodRunner pods = new PodRunner(containers, new PodFiles(state), new RestartBackoff(Duration.ofSeconds(1)), "nvidia",
                    pauseImage, 4096, (w, o) -> { }, relay, firewall(), networks, gpufleet.host.runtime.DiskLimits.DEFAULTS,
                    PodRunner.Startup.NONE);
            return new Wired(runtime, relay, new Reconciler(containers, pods, relay, networks, reports, PodCheck.NONE), networks);
        }

        @Override
        public void close() {
            reconciler.close();
            relay.close();
            runtime.close();
        }
    }
}
