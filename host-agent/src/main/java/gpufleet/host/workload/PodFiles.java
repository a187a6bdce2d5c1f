package gpufleet.host.workload;

import gpufleet.common.api.WorkloadSpec;
import gpufleet.host.runtime.Plan;
import gpufleet.host.runtime.RuntimeFailure;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ConfigMap and Secret files of a workload, written under the agent's own directory and mounted
 * read-only: the only host paths a tenant container ever sees. A file mounted alone (a subPath,
 * or from an agent before volumes) is bound by itself and never changes, as in Kubernetes; the
 * files of a volume are one directory per container and volume ({@link VolumeFiles}), which
 * follows the spec while the container runs.
 */
final class PodFiles {
    private static final Logger log = LoggerFactory.getLogger(PodFiles.class);
    private final Path root;

    PodFiles(Path stateDir) {
        this.root = stateDir.resolve("workloads");
    }

    /** The agent's directory for pod files: a host path no tenant may read in a message. */
    Path root() {
        return root.getParent();
    }

    /**
     * With {@code fsGroup} (null: none), each file belongs to that group and is readable by it,
     * as the kubelet sets a volume's files for the pod's fsGroup.
     */
    List<Plan.Bind> write(String workload, WorkloadSpec.Container c, Long fsGroup) throws RuntimeFailure {
        List<Plan.Bind> binds = new ArrayList<>();
        if (c.files().isEmpty()) {
            return binds;
        }
        Path dir = root.resolve(workload).resolve(c.name());
        try {
            Files.createDirectories(dir);
            for (int i = 0; i < c.files().size(); i++) {
                WorkloadSpec.FileMount f = c.files().get(i);
                if (f.volume() != null) {
                    continue;
                }
                Path file = dir.resolve(Integer.toString(i));
                Files.write(file, Base64.getDecoder().decode(f.contentBase64()));
                own(file, fsGroup == null ? f.mode() : f.mode() | 0440, fsGroup);
                binds.add(new Plan.Bind(file.toString(), f.path()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write files of container " + c.name() + ": " + e.getMessage(), e);
        }
        for (Map.Entry<String, List<WorkloadSpec.FileMount>> v : volumes(c).entrySet()) {
            Path volume = volumeDir(workload, c, v.getKey());
            VolumeFiles.sync(volume, v.getKey(), v.getValue(), fsGroup);
            binds.add(new Plan.Bind(volume.toString(), v.getKey()));
        }
        return binds;
    }

    /**
     * Brings the volumes of the workload's containers made so far to the spec, in place: the
     * running containers see the new files without a restart. A volume that cannot be written now
     * keeps its files and is tried again on the next pass.
     */
    void refresh(String workload, WorkloadSpec spec) {
        Long fsGroup = spec.securityContext() == null ? null : spec.securityContext().fsGroup();
        for (WorkloadSpec.Container c : spec.allContainers()) {
            for (Map.Entry<String, List<WorkloadSpec.FileMount>> v : volumes(c).entrySet()) {
                Path volume = volumeDir(workload, c, v.getKey());
                try {
                    if (Files.isDirectory(volume, LinkOption.NOFOLLOW_LINKS) && VolumeFiles.sync(volume, v.getKey(), v.getValue(), fsGroup)) {
                        log.info("workload {} container {}: the files of volume {} changed", workload, c.name(), v.getKey());
                    }
                } catch (RuntimeFailure f) {
                    log.warn("workload {} container {}: {}", workload, c.name(), f.getMessage());
                }
            }
        }
    }

    /** The container's volume files by volume, in the spec's order. */
    private static Map<String, List<WorkloadSpec.FileMount>> volumes(WorkloadSpec.Container c) {
        Map<String, List<WorkloadSpec.FileMount>> out = new LinkedHashMap<>();
        for (WorkloadSpec.FileMount f : c.files()) {
            if (f.volume() != null) {
                out.computeIfAbsent(f.volume(), k -> new ArrayList<>()).add(f);
            }
        }
        return out;
    }

    /** Named by a digest of the mount path: the same directory whatever order the volumes come in. */
    private Path volumeDir(String workload, WorkloadSpec.Container c, String volume) {
        return root.resolve(workload).resolve(c.name()).resolve("v-" + VolumeFiles.digest(volume, List.of(), null));
    }

    /** Sets a file's or directory's mode and, with {@code fsGroup}, its group, as the kubelet does for a volume's files. */
    static void own(Path p, int mode, Long fsGroup) throws IOException {
        Files.setPosixFilePermissions(p, permissions(mode));
        if (fsGroup != null) {
            Files.setAttribute(p, "unix:gid", fsGroup.intValue(), LinkOption.NOFOLLOW_LINKS);
        }
    }

    void remove(String workload) {
        Path dir = root.resolve(workload);
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + dir + ": " + e.getMessage(), e);
        }
    }

    private static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> p = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] bits = {
            PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
            PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
            PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ};
        for (int i = 0; i < bits.length; i++) {
            if ((mode & (1 << i)) != 0) {
                p.add(bits[i]);
            }
        }
        return p;
    }
}
