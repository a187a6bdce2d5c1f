package gpufleet.host.workload;

import gpufleet.common.api.HostWorkload;
import gpufleet.common.api.PodSettings;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.host.runtime.ContainerRuntime;
import gpufleet.host.runtime.Plan;
import gpufleet.host.runtime.RuntimeFailure;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * A pod's emptyDir volumes. On disk: one directory per volume under the agent's state directory,
 * made 0777 (group fsGroup) as the kubelet makes them, bind-mounted read-write into each
 * container that mounts it and removed with the pod. In memory: a tmpfs volume of the engine's,
 * sized by sizeLimit (at most the pod's memory), also mounted on the sandbox so that it lives as
 * long as the pod does, not only while a container runs. A memory emptyDir at /dev/shm is the
 * pod's shared /dev/shm instead (see {@link #shmBytes}).
 */
final class PodVolumes {
    static final String SHM = "/dev/shm";
    /** Where the sandbox holds the pod's memory volumes. */
    private static final String HELD_AT = "/held-volumes/";
    private final Path root;

    PodVolumes(Path stateDir) {
        this.root = stateDir.resolve("volumes");
    }

    /** The container's disk emptyDir mounts, the directories made first; a subPath that leaves its volume is refused. */
    List<Plan.Bind> binds(HostWorkload w, WorkloadSpec.Container c) throws RuntimeFailure {
        List<Plan.Bind> binds = new ArrayList<>();
        for (PodSettings.VolumeMount m : c.volumeMounts()) {
            PodSettings.Volume v = volume(w.spec(), m.name());
            if (!v.medium().isEmpty()) {
                continue;
            }
            Path dir = root.resolve(w.id().toString()).resolve(v.name());
            Path source = m.subPath() == null || m.subPath().isEmpty() ? dir : inside(dir, m.subPath(), c.name());
            Deque<Path> levels = new ArrayDeque<>(); // the volume's directory first, then each of the subPath's
            try {
                Files.createDirectories(dir.getParent());
                for (Path p = source; p.startsWith(dir); p = p.getParent()) {
                    levels.push(p);
                }
                while (!levels.isEmpty()) {
                    make(levels.pop(), fsGroup(w));
                }
            } catch (IOException e) {
                throw new RuntimeFailure(ContainerSettings.CONFIG_ERROR, "cannot make emptyDir " + v.name() + ": " + e);
            }
            binds.add(new Plan.Bind(source.toString(), m.mountPath(), m.readOnly()));
        }
        return binds;
    }

    /** The container's memory emptyDir mounts, but /dev/shm, which is the sandbox's shared one. */
    List<Plan.MemoryVolume> memory(HostWorkload w, WorkloadSpec.Container c) throws RuntimeFailure {
        List<Plan.MemoryVolume> out = new ArrayList<>();
        for (PodSettings.VolumeMount m : c.volumeMounts()) {
            PodSettings.Volume v = volume(w.spec(), m.name());
            if (v.medium().equals("Memory") && !m.mountPath().equals(SHM)) {
                if (m.subPath() != null && !m.subPath().isEmpty()) {
                    throw new RuntimeFailure(ContainerSettings.CONFIG_ERROR, "container " + c.name() + ": subPath of the memory emptyDir "
                            + v.name() + " is not supported on this host");
                }
                out.add(memoryVolume(w, v, m.mountPath(), m.readOnly()));
            }
        }
        return out;
    }

    /** Every memory emptyDir of the pod, held by its sandbox. */
    List<Plan.MemoryVolume> held(HostWorkload w) {
        return w.spec().volumes().stream().filter(v -> v.medium().equals("Memory"))
                .map(v -> memoryVolume(w, v, HELD_AT + v.name(), true)).toList();
    }

    /**
     * The pod's /dev/shm: a memory emptyDir mounted there sets it (sizeLimit, at most the pod's
     * memory, as for any memory emptyDir); else {@code otherwise} (null: the engine's default).
     */
    static Long shmBytes(WorkloadSpec spec, Long otherwise) {
        for (WorkloadSpec.Container c : spec.allContainers()) {
            for (PodSettings.VolumeMount m : c.volumeMounts()) {
                PodSettings.Volume v = volume(spec, m.name());
                if (m.mountPath().equals(SHM) && v.medium().equals("Memory")) {
                    return size(spec, v);
                }
            }
        }
        return otherwise;
    }

    /**
     * The offering's /dev/shm for a pod that mounts none (null: the engine's default), never more
     * than the pod's memory: the pages of /dev/shm are charged to whoever writes them.
     */
    static Long offeringShm(HostWorkload w) {
        return w.podShmSizeBytes() == null ? null : Math.min(w.podShmSizeBytes(), w.spec().memoryBytes());
    }

    /** Bytes the pod's disk emptyDirs hold, by volume name. */
    Map<String, Long> diskBytes(String workload) {
        Map<String, Long> out = new TreeMap<>();
        Path dir = root.resolve(workload);
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (Stream<Path> volumes = Files.list(dir)) {
            for (Path v : volumes.toList()) {
                out.put(v.getFileName().toString(), bytes(v));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot measure " + dir + ": " + e.getMessage(), e);
        }
        return out;
    }

    /** Removes the pod's directories and memory volumes; its containers are gone already. */
    void remove(String workload, ContainerRuntime runtime) throws RuntimeFailure {
        runtime.removeVolumes(Map.of(Labels.MANAGED, "true", Labels.WORKLOAD, workload));
        Path dir = root.resolve(workload);
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) { // walk does not follow a tenant's links out of the volume
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * The subPath's directory inside the volume, refused when it would leave it: by '..' (the
     * control-api refuses it too) or by a link a container made inside the volume, which the
     * engine would follow on the host when it mounts.
     */
    static Path inside(Path volume, String subPath, String container) throws RuntimeFailure {
        Path target = volume.resolve(subPath).normalize();
        if (!target.startsWith(volume) || subPath.startsWith("/")) {
            throw new RuntimeFailure(ContainerSettings.CONFIG_ERROR, "container " + container + ": subPath '" + subPath
                    + "' leaves its volume");
        }
        for (Path p = target; !p.equals(volume); p = p.getParent()) {
            if (Files.isSymbolicLink(p)) {
                throw new RuntimeFailure(ContainerSettings.CONFIG_ERROR, "container " + container + ": subPath '" + subPath
                        + "' goes through a symbolic link, which may lead out of its volume");
            }
        }
        return target;
    }

    private Plan.MemoryVolume memoryVolume(HostWorkload w, PodSettings.Volume v, String at, boolean readOnly) {
        return new Plan.MemoryVolume("gf-" + w.id() + "-" + v.name(), at, readOnly, size(w.spec(), v), fsGroup(w),
                Map.of(Labels.MANAGED, "true", Labels.WORKLOAD, w.id().toString()));
    }

    /** The kubelet's size for a memory emptyDir: its sizeLimit, never more than the pod's memory. */
    private static long size(WorkloadSpec spec, PodSettings.Volume v) {
        Long limit = v.sizeLimitBytes();
        return limit == null ? spec.memoryBytes() : Math.min(limit, spec.memoryBytes());
    }

    private static PodSettings.Volume volume(WorkloadSpec spec, String name) {
        return spec.volumes().stream().filter(v -> v.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalStateException("the spec mounts volume " + name + " it does not have"));
    }

    private static Long fsGroup(HostWorkload w) {
        return w.spec().securityContext() == null ? null : w.spec().securityContext().fsGroup();
    }

    /** A directory any of the pod's users may write, group fsGroup when the pod has one (the kubelet's emptyDir). */
    private static void make(Path dir, Long gid) throws IOException {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectory(dir);
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx")); // the agent's umask is 0077
            if (gid != null) {
                Files.setAttribute(dir, "unix:gid", gid.intValue(), LinkOption.NOFOLLOW_LINKS);
            }
        }
    }

    private static long bytes(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).mapToLong(p -> {
                try {
                    return Files.size(p);
                } catch (IOException e) {
                    return 0; // removed while walking
                }
            }).sum();
        }
    }
}
