package gpufleet.common;

import java.util.ArrayList;
import java.util.List;

/**
 * Where a tenant's file may be mounted in its container. Refused: the kernel's file systems
 * (/proc, /sys, /dev), the files Docker writes for the container (hosts, hostname, resolv.conf),
 * the NVIDIA runtime's device list (a file there would ask the runtime for more GPUs), and the
 * root. Checked by the control-api and again where the host decodes the spec.
 */
public final class MountTargets {
    private static final List<String> TREES = List.of("/proc", "/sys", "/dev", "/run/nvidia-container-devices",
            "/var/run/nvidia-container-devices");
    private static final List<String> FILES = List.of("/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/.dockerenv");

    private MountTargets() {}

    /** Null when a file may go at {@code path}, else why not (without the path: the caller names the field). */
    public static String refusal(String path) {
        if (!path.startsWith("/")) {
            return "must be an absolute path";
        }
        List<String> parts = new ArrayList<>();
        for (String part : path.substring(1).split("/", -1)) {
            if (part.equals("..")) {
                return "must not contain '..'";
            }
            if (!part.isEmpty() && !part.equals(".")) {
                parts.add(part);
            }
        }
        if (parts.isEmpty() || path.endsWith("/")) {
            return "must name a file, not a directory";
        }
        String normal = "/" + String.join("/", parts);
        for (String tree : TREES) {
            if (normal.equals(tree) || normal.startsWith(tree + "/")) {
                return "is under " + tree + ", where files cannot be mounted";
            }
        }
        if (FILES.contains(normal)) {
            return "is " + normal + ", which the container runtime manages";
        }
        return null;
    }

    /**
     * Null when {@code path} may be a file of the volume mounted at {@code volume} (or, equal to it,
     * the volume's directory itself), else why not. The host lays a volume out as the kubelet does,
     * each key a link into a {@code ..data} directory it swaps on change: a key is a relative path
     * without '.' or '..' parts, and none starts with '..', the names the host keeps for itself.
     */
    public static String volumeRefusal(String volume, String path) {
        String dir = refusal(volume);
        if (dir != null) {
            return "volume '" + volume + "' " + dir;
        }
        if (volume.contains("//") || volume.contains("/./") || volume.endsWith("/.")) {
            return "volume '" + volume + "' must be written plainly, without '//' or '.' parts";
        }
        if (path.equals(volume)) {
            return null;
        }
        if (!path.startsWith(volume + "/")) {
            return "path '" + path + "' is not inside its volume '" + volume + "'";
        }
        String key = path.substring(volume.length() + 1);
        if (key.startsWith("..")) {
            return "key '" + key + "' of volume '" + volume + "' must not start with '..'";
        }
        for (String part : key.split("/", -1)) {
            if (part.isEmpty() || part.equals(".") || part.equals("..")) {
                return "key '" + key + "' of volume '" + volume + "' must be a relative path without empty, '.' or '..' parts";
            }
        }
        return null;
    }
}
