package gpufleet.tenant.e2e;

import java.util.Map;

/** Leaves no labelled containers behind for the next test's agents to find. */
final class DockerCleanup {
    private DockerCleanup() {}

    static void removeManagedContainers() throws Exception {
        var cfg = com.github.dockerjava.core.DefaultDockerClientConfig.createDefaultConfigBuilder()
                .withDockerHost("unix:///var/run/docker.sock").build();
        try (var docker = com.github.dockerjava.core.DockerClientImpl.getInstance(cfg,
                new com.github.dockerjava.zerodep.ZerodepDockerHttpClient.Builder().dockerHost(cfg.getDockerHost()).build())) {
            for (var c : docker.listContainersCmd().withShowAll(true).withLabelFilter(Map.of("org.gpufleet.managed", "true")).exec()) {
                docker.removeContainerCmd(c.getId()).withForce(true).exec();
            }
        }
    }
}
