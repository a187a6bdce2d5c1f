package gpufleet.bench;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The burst's baseline: the Docker Engine alone doing what a burst of pods asks of it, with no
 * control-api and no agent. For each pod, from one thread each, all at once: a pause container on
 * a bridge network of its own kind (as a tenant's), created and started, then one container joined
 * to its network namespace under the GPU runtime, created and started; each pod timed from its
 * first call to its second start.
 */
final class EngineBurst {
    static final String LABEL = "org.gpufleet.bench";

    private EngineBurst() {}

    static Stats run(int pods, String pauseImage, String image, String runtime) throws Exception {
        var cfg = DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost("unix:///var/run/docker.sock").build();
        DockerClient docker = DockerClientImpl.getInstance(cfg, new ZerodepDockerHttpClient.Builder().dockerHost(cfg.getDockerHost()).build());
        String network = docker.createNetworkCmd().withName("gf-bench-engine").withDriver("bridge")
                .withLabels(Map.of(LABEL, "burst")).exec().getId();
        Stats stats = new Stats();
        ExecutorService pool = Executors.newFixedThreadPool(pods);
        try {
            List<Future<?>> all = new ArrayList<>();
            for (int i = 0; i < pods; i++) {
                String name = "gf-bench-engine-" + i;
                all.add(pool.submit(() -> {
                    long t0 = System.nanoTime();
                    String pause = docker.createContainerCmd(pauseImage).withName(name + "-pause").withLabels(Map.of(LABEL, "burst"))
                            .withHostConfig(HostConfig.newHostConfig().withNetworkMode(network).withMemory(32L << 20)).exec().getId();
                    docker.startContainerCmd(pause).exec();
                    String main = docker.createContainerCmd(image).withName(name + "-main").withLabels(Map.of(LABEL, "burst"))
                            .withCmd("sleep", "3600").withHostConfig(HostConfig.newHostConfig().withNetworkMode("container:" + pause)
                                    .withRuntime(runtime).withMemory(64L << 20).withNanoCPUs(100_000_000L)).exec().getId();
                    docker.startContainerCmd(main).exec();
                    stats.add(System.nanoTime() - t0);
                    return null;
                }));
            }
            for (Future<?> f : all) {
                f.get();
            }
        } finally {
            pool.shutdown();
            for (var c : docker.listContainersCmd().withShowAll(true).withLabelFilter(Map.of(LABEL, "burst")).exec()) {
                docker.removeContainerCmd(c.getId()).withForce(true).exec();
            }
            docker.removeNetworkCmd(network).exec();
            docker.close();
        }
        return stats;
    }
}
