package gpufleet.host.workload;

import gpufleet.common.api.WorkloadSpec;
import gpufleet.host.runtime.Plan;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * ConfigMap and Secret files of a workload, written under the agent's own directory and mounted
 * read-only one file at a time: the only host paths a tenant container ever sees.
 */
final class PodFiles {
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
    List<Plan.Bind> write(String workload, WorkloadSpec.Container c, Long fsGroup) {
        List<Plan.Bind> binds = new ArrayList<>();
        if (c.files().isEmpty()) {
            return binds;
        }
        Path dir = root.resolve(workload).resolve(c.name());
        try {
            Files.createDirectories(dir);
            for (int i = 0; i < c.files().size(); i++) {
                WorkloadSpec.FileMount f = c.files().get(i);
                Path file = dir.resolve(Integer.toString(i));
                Files.write(file, Base64.getDecoder().decode(f.contentBase64()));
                Files.setPosixFilePermissions(file, permissions(fsGroup == null ? f.mode() : f.mode() | 0440));
                if (fsGroup != null) {
                    Files.setAttribute(file, "unix:gid", fsGroup.intValue());
                }
                binds.add(new Plan.Bind(file.toString(), f.path()));
            }
            return binds;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write files of container " + c.name() + ": " + e.getMessage(), e);
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
