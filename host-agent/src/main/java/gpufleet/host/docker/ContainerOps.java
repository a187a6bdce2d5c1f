package gpufleet.host.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.CreateContainerCmd;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.command.PullImageResultCallback;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.exception.NotModifiedException;
import com.github.dockerjava.api.model.AccessMode;
import com.github.dockerjava.api.model.AuthConfig;
import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.ContainerNetwork;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.Volume;
import com.github.dockerjava.core.command.CreateContainerCmdImpl;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.host.runtime.Observed;
import gpufleet.host.runtime.Plan;
import gpufleet.host.runtime.RuntimeFailure;
import java.lang.reflect.Field;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/** The Docker calls behind {@link DockerRuntime}, each turning docker-java's exceptions into a reason. */
final class ContainerOps {
    private ContainerOps() {}

    static List<Observed> list(DockerClient client, Map<String, String> labels) throws RuntimeFailure {
        if (labels.isEmpty()) {
            throw new IllegalArgumentException("a listing names the labels it wants: the agent never lists every container");
        }
        try {
            List<Observed> out = new ArrayList<>();
            // One label=key=value filter per entry: the engine keeps the containers that carry all of them.
            for (Container c : client.listContainersCmd().withShowAll(true).withLabelFilter(labels).exec()) {
                try {
                    out.add(observed(client.inspectContainerCmd(c.getId()).exec()));
                } catch (NotFoundException gone) {
                    // Removed between list and inspect: it is simply not there any more.
                }
            }
            return out;
        } catch (RuntimeException e) {
            throw new RuntimeFailure("RuntimeUnavailable", DockerRuntime.rootMessage(e));
        }
    }

    static Optional<Observed> inspect(DockerClient client, String id) throws RuntimeFailure {
        try {
            return Optional.of(observed(client.inspectContainerCmd(id).exec()));
        } catch (NotFoundException gone) {
            return Optional.empty();
        } catch (RuntimeException e) {
            throw new RuntimeFailure("RuntimeUnavailable", DockerRuntime.rootMessage(e));
        }
    }

    private static Observed observed(InspectContainerResponse i) {
        InspectContainerResponse.ContainerState s = i.getState();
        Map<String, String> labels = i.getConfig() == null || i.getConfig().getLabels() == null ? Map.of() : i.getConfig().getLabels();
        return new Observed(i.getId(), i.getName() == null ? "" : i.getName().replaceFirst("^/", ""), labels, s.getStatus(),
                s.getExitCodeLong() == null ? null : s.getExitCodeLong().intValue(), time(s.getStartedAt()),
                time(s.getFinishedAt()), i.getConfig() == null ? null : i.getConfig().getImage(), emptyToNull(s.getError()),
                Boolean.TRUE.equals(s.getOOMKilled()) ? "true" : null, addresses(i));
    }

    /** Network name → IPv4 address; a stopped container has none (Docker reports empty strings). */
    private static Map<String, String> addresses(InspectContainerResponse i) {
        Map<String, String> out = new HashMap<>();
        if (i.getNetworkSettings() != null && i.getNetworkSettings().getNetworks() != null) {
            i.getNetworkSettings().getNetworks().forEach((name, n) -> {
                if (n != null && n.getIpAddress() != null && !n.getIpAddress().isEmpty()) {
                    out.put(name, n.getIpAddress());
                }
            });
        }
        return out;
    }

    static Optional<String> imageId(DockerClient client, String image) throws RuntimeFailure {
        try {
            return Optional.ofNullable(client.inspectImageCmd(image).exec().getId());
        } catch (NotFoundException e) {
            return Optional.empty();
        } catch (RuntimeException e) {
            throw new RuntimeFailure("RuntimeUnavailable", DockerRuntime.rootMessage(e));
        }
    }

    static java.util.Set<String> imageIds(DockerClient client) throws RuntimeFailure {
        try {
            java.util.Set<String> ids = new java.util.HashSet<>();
            client.listImagesCmd().withShowAll(true).exec().forEach(i -> ids.add(i.getId()));
            return ids;
        } catch (RuntimeException e) {
            throw new RuntimeFailure("RuntimeUnavailable", DockerRuntime.rootMessage(e));
        }
    }

    static void pull(DockerClient client, String image, WorkloadSpec.PullSecret credential) throws RuntimeFailure {
        try {
            var pull = client.pullImageCmd(repository(image)).withTag(tag(image));
            if (credential != null) {
                pull = pull.withAuthConfig(new AuthConfig().withUsername(credential.username()).withPassword(credential.password())
                        .withRegistryAddress(credential.registry()));
            }
            if (!pull.exec(new PullImageResultCallback()).awaitCompletion(10, TimeUnit.MINUTES)) {
                throw new RuntimeFailure("ErrImagePull", "pulling " + image + " took longer than 10 minutes");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RuntimeFailure("ErrImagePull", "interrupted while pulling " + image);
        } catch (RuntimeException e) {
            throw new RuntimeFailure("ErrImagePull", "failed to pull image " + image + ": " + DockerRuntime.rootMessage(e));
        }
    }

    static List<String> imageEnv(DockerClient client, String image) throws RuntimeFailure {
        try {
            var config = client.inspectImageCmd(image).exec().getConfig();
            String[] env = config == null ? null : config.getEnv();
            return env == null ? List.of() : List.of(env);
        } catch (NotFoundException e) {
            throw new RuntimeFailure("CreateContainerError", "image " + image + " is not present");
        } catch (RuntimeException e) {
            throw new RuntimeFailure("RuntimeUnavailable", DockerRuntime.rootMessage(e));
        }
    }

    static String create(DockerClient client, Plan p) throws RuntimeFailure {
        HostConfig hc = HostConfig.newHostConfig()
                .withNanoCPUs(p.nanoCpus())
                .withMemory(p.memoryBytes())
                .withMemorySwap(p.memoryBytes()) // equal to memory: no swap
                .withPidsLimit(p.pidsLimit())
                .withPrivileged(false)
                .withSecurityOpts(List.of("no-new-privileges"))
                .withNetworkMode(p.networkMode())
                .withBinds(p.binds().stream().map(b -> new Bind(b.hostPath(), new Volume(b.containerPath()),
                        b.readOnly() ? AccessMode.ro : AccessMode.rw)).toList());
        hc = DockerSettings.apply(hc, p.settings(), Capability.NET_RAW); // NET_RAW: Docker's default set minus what Baseline forbids
        if (p.logMaxBytes() > 0) {
            // Each container's own bound, whatever the daemon's default: what a pod prints cannot fill the disk.
            hc = hc.withLogConfig(new com.github.dockerjava.api.model.LogConfig(
                    com.github.dockerjava.api.model.LogConfig.LoggingType.JSON_FILE,
                    Map.of("max-size", Long.toString(p.logMaxBytes()), "max-file", Integer.toString(p.logMaxFiles()))));
        }
        if (p.runtime() != null) {
            hc = hc.withRuntime(p.runtime());
        }
        CreateContainerCmd cmd = client.createContainerCmd(p.image()).withName(p.name()).withLabels(p.labels())
                .withEnv(p.env()).withHostConfig(hc).withTty(p.tty()).withStdinOpen(p.stdin()).withAttachStdin(p.stdin());
        cmd = DockerSettings.apply(cmd, p.settings());
        if (!p.entrypoint().isEmpty()) {
            cmd = cmd.withEntrypoint(p.entrypoint());
        }
        if (!p.cmd().isEmpty()) {
            cmd = cmd.withCmd(p.cmd());
        }
        if (p.workingDir() != null) {
            cmd = cmd.withWorkingDir(p.workingDir());
        }
        if (NETWORK_ID.matcher(p.networkMode()).matches()) {
            byNetworkId(cmd, p.networkMode());
        }
        try {
            return cmd.exec().getId();
        } catch (RuntimeException e) {
            throw new RuntimeFailure("CreateContainerError", DockerRuntime.rootMessage(e));
        }
    }

    private static final Pattern NETWORK_ID = Pattern.compile("^[0-9a-f]{64}$");

    /**
     * Docker keeps a container's network by name and looks it up again at every start, which fails
     * while two networks share that name, unless the endpoint names the network's id. docker-java
     * has no setter for that field of the request, so it is set on the command's own
     * {@code networkingConfig}, which its exec leaves alone when no alias or address is given.
     */
    private static void byNetworkId(CreateContainerCmd cmd, String networkId) {
        try {
            Field f = cmd.getClass().getDeclaredField("networkingConfig");
            f.setAccessible(true);
            var config = new CreateContainerCmdImpl.NetworkingConfig()
                    .withEndpointsConfig(Map.of(networkId, new ContainerNetwork().withNetworkID(networkId)));
            f.set(cmd, config);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("docker-java changed: cannot name the network by id in a create", e);
        }
    }

    static void start(DockerClient client, String id) throws RuntimeFailure {
        try {
            client.startContainerCmd(id).exec();
        } catch (NotModifiedException e) {
            // Already running.
        } catch (RuntimeException e) {
            throw new RuntimeFailure("RunContainerError", DockerRuntime.rootMessage(e));
        }
    }

    static void stop(DockerClient client, String id, int graceSeconds) throws RuntimeFailure {
        try {
            client.stopContainerCmd(id).withTimeout(graceSeconds).exec();
        } catch (NotModifiedException | NotFoundException e) {
            // Already stopped, or gone.
        } catch (RuntimeException e) {
            throw new RuntimeFailure("KillContainerError", DockerRuntime.rootMessage(e));
        }
    }

    static void remove(DockerClient client, String id) throws RuntimeFailure {
        try {
            client.removeContainerCmd(id).withForce(true).withRemoveVolumes(true).exec();
        } catch (NotFoundException e) {
            // Already gone.
        } catch (RuntimeException e) {
            throw new RuntimeFailure("KillContainerError", DockerRuntime.rootMessage(e));
        }
    }

    /** "registry:5000/team/app:1.2" → "registry:5000/team/app"; digests are kept whole. */
    static String repository(String image) {
        if (image.contains("@")) {
            return image;
        }
        int colon = image.lastIndexOf(':');
        return colon > image.lastIndexOf('/') ? image.substring(0, colon) : image;
    }

    static String tag(String image) {
        if (image.contains("@")) {
            return null;
        }
        int colon = image.lastIndexOf(':');
        return colon > image.lastIndexOf('/') ? image.substring(colon + 1) : "latest";
    }

    private static Instant time(String docker) {
        if (docker == null || docker.startsWith("0001-01-01")) {
            return null;
        }
        try {
            return Instant.parse(docker);
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }
}
