package gpufleet.host.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Info;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.transport.DockerHttpClient;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import gpufleet.common.api.HostCondition;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.host.images.ImageStore;
import gpufleet.host.runtime.ContainerRuntime;
import gpufleet.host.runtime.ExecResult;
import gpufleet.host.runtime.Network;
import gpufleet.host.runtime.Observed;
import gpufleet.host.runtime.Plan;
import gpufleet.host.runtime.RuntimeFailure;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/** {@link ContainerRuntime} over the Docker Engine API (docker-java), with its images for garbage collection. */
public final class DockerRuntime implements ContainerRuntime, ImageStore {
    private final String dockerHost;
    private final String runtime;
    private final DockerClient client;

    public DockerRuntime(String dockerHost, String runtime) {
        this.dockerHost = dockerHost;
        this.runtime = runtime;
        DockerClientConfig cfg = DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost(dockerHost).build();
        DockerHttpClient http = new ZerodepDockerHttpClient.Builder()
                .dockerHost(cfg.getDockerHost())
                .connectionTimeout(Duration.ofSeconds(3))
                // Long enough for a pull or a stop with a long grace period; liveness checks run on their own thread.
                .responseTimeout(Duration.ofMinutes(65))
                .build();
        this.client = DockerClientImpl.getInstance(cfg, http);
    }

    @Override
    public HostCondition check() {
        if (dockerHost.startsWith("unix://") && !java.nio.file.Files.exists(java.nio.file.Path.of(dockerHost.substring(7)))) {
            return new HostCondition(CONDITION, "False", "DaemonUnreachable",
                    "Docker at " + dockerHost + " does not answer: the socket " + dockerHost.substring(7)
                            + " does not exist (is dockerd running?)");
        }
        Info info;
        try {
            info = client.infoCmd().exec();
        } catch (RuntimeException e) {
            return new HostCondition(CONDITION, "False", "DaemonUnreachable",
                    "Docker at " + dockerHost + " does not answer: " + rootMessage(e));
        }
        Map<String, ?> runtimes = info.getRuntimes() == null ? Map.of() : info.getRuntimes();
        if (!runtimes.containsKey(runtime)) {
            return new HostCondition(CONDITION, "False", "RuntimeMissing", "Docker " + info.getServerVersion()
                    + " has no runtime '" + runtime + "' (it has: " + String.join(", ", new TreeSet<>(runtimes.keySet()))
                    + "); add it with 'nvidia-ctk runtime configure --runtime=docker' and restart Docker");
        }
        return new HostCondition(CONDITION, "True", "RuntimeAvailable",
                "Docker " + info.getServerVersion() + " with runtime '" + runtime + "'");
    }

    @Override
    public String imageRoot() throws RuntimeFailure {
        return DockerImages.root(client);
    }

    @Override
    public List<Image> images() throws RuntimeFailure {
        return DockerImages.images(client);
    }

    @Override
    public java.util.Set<String> imagesInUse() throws RuntimeFailure {
        return DockerImages.inUse(client);
    }

    @Override
    public void remove(Image image) throws RuntimeFailure {
        DockerImages.remove(client, image);
    }

    @Override
    public List<Observed> list(Map<String, String> labels) throws RuntimeFailure {
        return ContainerOps.list(client, labels);
    }

    @Override
    public java.util.Optional<Observed> inspect(String idOrName) throws RuntimeFailure {
        return ContainerOps.inspect(client, idOrName);
    }

    @Override
    public Optional<String> imageId(String image) throws RuntimeFailure {
        return ContainerOps.imageId(client, image);
    }

    @Override
    public java.util.Set<String> imageIds() throws RuntimeFailure {
        return ContainerOps.imageIds(client);
    }

    @Override
    public void pull(String image, WorkloadSpec.PullSecret credential) throws RuntimeFailure {
        ContainerOps.pull(client, image, credential);
    }

    @Override
    public List<String> imageEnv(String image) throws RuntimeFailure {
        return ContainerOps.imageEnv(client, image);
    }

    @Override
    public String imageUser(String image) throws RuntimeFailure {
        return DockerSettings.imageUser(client, image);
    }

    @Override
    public void removeVolumes(Map<String, String> labels) throws RuntimeFailure {
        DockerSettings.removeVolumes(client, labels);
    }

    @Override
    public List<Network> networks(Map<String, String> labels) throws RuntimeFailure {
        return NetworkOps.list(client, labels);
    }

    @Override
    public String createNetwork(String name, Map<String, String> labels, Map<String, String> options) throws RuntimeFailure {
        return NetworkOps.create(client, name, labels, options);
    }

    @Override
    public void removeNetwork(String id) throws RuntimeFailure {
        NetworkOps.remove(client, id);
    }

    @Override
    public String create(Plan plan) throws RuntimeFailure {
        return ContainerOps.create(client, plan);
    }

    @Override
    public void start(String id) throws RuntimeFailure {
        ContainerOps.start(client, id);
    }

    @Override
    public void stop(String id, int graceSeconds) throws RuntimeFailure {
        ContainerOps.stop(client, id, graceSeconds);
    }

    @Override
    public ExecResult exec(String id, List<String> command, Duration timeout) throws RuntimeFailure {
        return ExecOps.exec(client, id, command, timeout);
    }

    @Override
    public void remove(String id) throws RuntimeFailure {
        ContainerOps.remove(client, id);
    }

    @Override
    public long writableBytes(String containerId) throws RuntimeFailure {
        try {
            Long size = client.inspectContainerCmd(containerId).withSize(true).exec().getSizeRw();
            return size == null ? 0 : size;
        } catch (com.github.dockerjava.api.exception.NotFoundException e) {
            return 0;
        } catch (RuntimeException e) {
            throw new RuntimeFailure("StorageCheckFailed", "cannot measure container " + containerId + ": " + rootMessage(e));
        }
    }

    static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        String m = t.getMessage();
        return m == null ? t.getClass().getSimpleName() : m;
    }

    @Override
    public void close() {
        try {
            client.close();
        } catch (IOException e) {
            // Closing a client that is going away anyway; nothing to do.
        }
    }
}
