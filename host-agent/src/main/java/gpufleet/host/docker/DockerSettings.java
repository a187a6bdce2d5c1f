package gpufleet.host.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.CreateContainerCmd;
import com.github.dockerjava.api.command.InspectVolumeResponse;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.Driver;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.Mount;
import com.github.dockerjava.api.model.MountType;
import com.github.dockerjava.api.model.VolumeOptions;
import gpufleet.host.runtime.Plan;
import gpufleet.host.runtime.RuntimeFailure;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A plan's pod settings (users, capabilities, names, shared memory, memory volumes) as Docker's create fields. */
final class DockerSettings {
    private DockerSettings() {}

    /** {@code dropped}: what every container loses whatever its spec says (Docker's default set minus Baseline's). */
    static HostConfig apply(HostConfig hc, Plan.Settings s, Capability dropped) throws RuntimeFailure {
        List<Capability> drop = new ArrayList<>(List.of(dropped));
        drop.addAll(capabilities(s.capDrop()));
        hc = hc.withCapDrop(drop.toArray(Capability[]::new)).withReadonlyRootfs(s.readOnlyRoot());
        if (!s.capAdd().isEmpty()) {
            hc = hc.withCapAdd(capabilities(s.capAdd()).toArray(Capability[]::new));
        }
        if (!s.groups().isEmpty()) {
            hc = hc.withGroupAdd(s.groups());
        }
        if (!s.extraHosts().isEmpty()) {
            hc = hc.withExtraHosts(s.extraHosts().toArray(String[]::new));
        }
        if (s.shmBytes() != null) {
            hc = hc.withShmSize(s.shmBytes());
        }
        if (s.ipcMode() != null) {
            hc = hc.withIpcMode(s.ipcMode());
        }
        if (!s.memoryVolumes().isEmpty()) {
            hc = hc.withMounts(s.memoryVolumes().stream().map(DockerSettings::mount).toList());
        }
        return hc;
    }

    static CreateContainerCmd apply(CreateContainerCmd cmd, Plan.Settings s) {
        if (s.user() != null) {
            cmd = cmd.withUser(s.user());
        }
        if (s.hostname() != null) {
            cmd = cmd.withHostName(s.hostname());
        }
        if (s.domainname() != null) {
            cmd = cmd.withDomainName(s.domainname());
        }
        return cmd;
    }

    /**
     * The local driver's tmpfs: Docker mounts it once, at the first container that uses it, and
     * every other container of the pod mounting the same name sees the same files, unlike a
     * tmpfs mount, which each container would get of its own.
     */
    private static Mount mount(Plan.MemoryVolume v) {
        Map<String, String> options = new LinkedHashMap<>();
        options.put("type", "tmpfs");
        options.put("device", "tmpfs");
        options.put("o", "size=" + v.sizeBytes() + ",mode=0777" + (v.gid() == null ? "" : ",gid=" + v.gid()));
        return new Mount().withType(MountType.VOLUME).withSource(v.volume()).withTarget(v.containerPath()).withReadOnly(v.readOnly())
                .withVolumeOptions(new VolumeOptions().withLabels(v.labels())
                        .withDriverConfig(new Driver().withName("local").withOptions(options)));
    }

    private static List<Capability> capabilities(List<String> names) throws RuntimeFailure {
        List<Capability> out = new ArrayList<>();
        for (String name : names) {
            try {
                out.add(Capability.valueOf(name));
            } catch (IllegalArgumentException e) {
                throw new RuntimeFailure("CreateContainerConfigError", "unknown capability \"" + name + "\"");
            }
        }
        return out;
    }

    /** The user an image runs as ("name", "uid", "uid:gid"; empty for root by default). */
    static String imageUser(DockerClient client, String image) throws RuntimeFailure {
        try {
            var config = client.inspectImageCmd(image).exec().getConfig();
            return config == null || config.getUser() == null ? "" : config.getUser();
        } catch (NotFoundException e) {
            throw new RuntimeFailure("CreateContainerError", "image " + image + " is not present");
        } catch (RuntimeException e) {
            throw new RuntimeFailure("RuntimeUnavailable", DockerRuntime.rootMessage(e));
        }
    }

    static void removeVolumes(DockerClient client, Map<String, String> labels) throws RuntimeFailure {
        if (labels.isEmpty()) {
            throw new IllegalArgumentException("a removal names the labels it wants: the agent never removes every volume");
        }
        try {
            List<String> filter = labels.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList();
            var found = client.listVolumesCmd().withFilter("label", filter).exec().getVolumes();
            for (var v : found == null ? List.<InspectVolumeResponse>of() : found) {
                try {
                    client.removeVolumeCmd(v.getName()).exec();
                } catch (NotFoundException gone) {
                    // Removed meanwhile.
                }
            }
        } catch (RuntimeException e) {
            throw new RuntimeFailure("KillContainerError", DockerRuntime.rootMessage(e));
        }
    }
}
