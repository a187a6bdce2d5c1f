package gpufleet.host.workload;

import gpufleet.common.MountTargets;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.host.runtime.RuntimeFailure;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * One ConfigMap, Secret, projected or downwardAPI volume's directory, laid out as the kubelet's
 * atomic writer lays it out, so that a running container sees a change whole: the files live in a
 * timestamped directory {@code ..<time>.<digest>}, {@code ..data} links to it, and each top-level
 * key is a link {@code key -> ..data/key}. A change writes a new directory and renames a new
 * {@code ..data} link over the old one (one atomic step), then fixes the keys' links and removes
 * the old directory. The directory is mounted read-only, so only the agent writes in it, and every
 * key was checked to stay inside it ({@link MountTargets#volumeRefusal}), again here.
 */
final class VolumeFiles {
    static final String DATA = "..data";
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyy_MM_dd_HH_mm_ss.n");

    private VolumeFiles() {}

    /**
     * Brings {@code dir} to {@code files} (those of one volume, its directory entry included), with
     * {@code fsGroup} as in {@link PodFiles}. Nothing is written when it already holds them. Returns
     * whether it changed.
     */
    static boolean sync(Path dir, String volume, List<WorkloadSpec.FileMount> files, Long fsGroup) throws RuntimeFailure {
        String digest = digest(volume, files, fsGroup);
        try {
            Files.createDirectories(dir);
            Path data = dir.resolve(DATA);
            if (Files.isSymbolicLink(data) && Files.readSymbolicLink(data).toString().endsWith("." + digest)) {
                return false;
            }
            String name = ".." + LocalDateTime.now(ZoneOffset.UTC).format(STAMP) + "." + digest;
            Path fresh = dir.resolve(name);
            Files.createDirectory(fresh);
            Set<String> tops = new LinkedHashSet<>();
            for (WorkloadSpec.FileMount f : files) {
                if (!f.volumeDirectory()) {
                    tops.add(write(fresh, volume, f, fsGroup));
                }
            }
            PodFiles.own(fresh, 0755, fsGroup);
            Path tmp = dir.resolve("..data_tmp");
            Files.deleteIfExists(tmp);
            Files.createSymbolicLink(tmp, Path.of(name));
            Files.move(tmp, data, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            for (String top : tops) {
                Path link = dir.resolve(top);
                if (!Files.isSymbolicLink(link)) {
                    Files.createSymbolicLink(link, Path.of(DATA, top));
                }
            }
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
                for (Path p : entries) {
                    String entry = p.getFileName().toString();
                    if (entry.startsWith("..") ? !entry.equals(DATA) && !entry.equals(name) : !tops.contains(entry)) {
                        removeTree(p);
                    }
                }
            }
            PodFiles.own(dir, 0755, fsGroup);
            return true;
        } catch (IOException e) {
            throw new RuntimeFailure(ContainerSettings.CONFIG_ERROR, "cannot write volume " + volume + ": " + e.getMessage());
        }
    }

    /** Writes one key under {@code fresh} (a directory only the agent has seen); returns its top-level name. */
    private static String write(Path fresh, String volume, WorkloadSpec.FileMount f, Long fsGroup) throws IOException, RuntimeFailure {
        String refusal = MountTargets.volumeRefusal(volume, f.path());
        if (refusal != null) {
            throw new RuntimeFailure(ContainerSettings.CONFIG_ERROR, "volume " + volume + ": " + refusal);
        }
        String key = f.path().substring(volume.length() + 1);
        Path file = fresh.resolve(key).normalize();
        if (!file.startsWith(fresh) || file.equals(fresh)) {
            throw new RuntimeFailure(ContainerSettings.CONFIG_ERROR, "volume " + volume + ": key '" + key + "' leaves the volume");
        }
        for (Path p = file.getParent(); !p.equals(fresh); p = p.getParent()) {
            if (Files.exists(p, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                throw new RuntimeFailure(ContainerSettings.CONFIG_ERROR, "volume " + volume + ": key '" + key
                        + "' is inside another key's file");
            }
        }
        Files.createDirectories(file.getParent());
        // CREATE_NEW: a key given twice, or one that is another's directory, fails here rather than overwrite.
        Files.write(file, Base64.getDecoder().decode(f.contentBase64()), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        PodFiles.own(file, fsGroup == null ? f.mode() : f.mode() | 0440, fsGroup);
        for (Path p = file.getParent(); !p.equals(fresh); p = p.getParent()) {
            PodFiles.own(p, 0755, fsGroup);
        }
        return key.split("/", 2)[0];
    }

    private static void removeTree(Path p) throws IOException {
        if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
            Files.deleteIfExists(p);
            return;
        }
        try (Stream<Path> paths = Files.walk(p)) {
            for (Path q : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(q);
            }
        }
    }

    /** What the volume should hold, short: the name of its data directory ends with it. */
    static String digest(String volume, List<WorkloadSpec.FileMount> files, Long fsGroup) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            d.update((volume + "\0" + fsGroup + "\0").getBytes(StandardCharsets.UTF_8));
            for (WorkloadSpec.FileMount f : files) {
                d.update((f.path() + "\0" + f.mode() + "\0" + f.contentBase64() + "\0").getBytes(StandardCharsets.UTF_8));
            }
            return HexFormat.of().formatHex(d.digest(), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
