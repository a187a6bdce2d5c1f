package gpufleet.tenant.e2e;

import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import gpufleet.host.workload.Labels;
import java.util.Map;

/**
 * Leaves no containers of a test's host behind for the next test's agent to find. Only that
 * host's (by its label): other tests and programs may share this Docker Engine.
 */
final class DockerCleanup {
    private DockerCleanup() {}

    static void removeContainersOf(String host) throws Exception {
        var cfg = DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost("unix:///var/run/docker.sock").build();
        try (var docker = DockerClientImpl.getInstance(cfg, new ZerodepDockerHttpClient.Builder().dockerHost(cfg.getDockerHost()).build())) {
            for (var c : docker.listContainersCmd().withShowAll(true).withLabelFilter(Map.of(Labels.MANAGED, "true", Labels.HOST, host)).exec()) {
                docker.removeContainerCmd(c.getId()).withForce(true).exec();
            }
        }
    }
}
