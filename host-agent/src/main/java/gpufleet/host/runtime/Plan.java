package gpufleet.host.runtime;

import java.util.List;
import java.util.Map;

/**
 * Everything needed to create one container, already decided by the agent: the runtime, the GPU
 * pin (in {@code env}), limits and hardening. {@code networkMode} is a network name or
 * {@code container:<id>} to join a pod's shared namespace. Binds are read-only unless they say
 * otherwise (an emptyDir). The log is Docker's json-file, rotated at {@code logMaxBytes},
 * {@code logMaxFiles} files kept. {@code settings}: the pod's securityContext, names and shared
 * memory, as the agent decided them.
 */
public record Plan(String name, String image, Map<String, String> labels, List<String> entrypoint, List<String> cmd,
                   List<String> env, String runtime, long nanoCpus, long memoryBytes, long pidsLimit,
                   String networkMode, List<Bind> binds, String workingDir, boolean tty, boolean stdin, long logMaxBytes,
                   int logMaxFiles, Settings settings) {

    public Plan(String name, String image, Map<String, String> labels, List<String> entrypoint, List<String> cmd,
                List<String> env, String runtime, long nanoCpus, long memoryBytes, long pidsLimit,
                String networkMode, List<Bind> binds, String workingDir, boolean tty, boolean stdin, long logMaxBytes,
                int logMaxFiles) {
        this(name, image, labels, entrypoint, cmd, env, runtime, nanoCpus, memoryBytes, pidsLimit, networkMode, binds, workingDir,
                tty, stdin, logMaxBytes, logMaxFiles, Settings.NONE);
    }

    public Plan {
        settings = settings == null ? Settings.NONE : settings;
    }

    public record Bind(String hostPath, String containerPath, boolean readOnly) {
        public Bind(String hostPath, String containerPath) {
            this(hostPath, containerPath, true);
        }
    }

    /**
     * A volume the engine keeps in memory (tmpfs) under {@code volume}, made on first use with its
     * size, group and labels (by which it is removed), and shared by every container that mounts
     * it, while one does.
     */
    public record MemoryVolume(String volume, String containerPath, boolean readOnly, long sizeBytes, Long gid,
                               Map<String, String> labels) {
        public MemoryVolume {
            labels = Map.copyOf(labels);
        }
    }

    /**
     * {@code user}: "uid", "uid:gid" or null for the image's; {@code groups}: supplementary gids;
     * {@code capAdd}/{@code capDrop}: capability names without CAP_ ("ALL" may be dropped).
     * {@code hostname}, {@code domainname}, {@code extraHosts} ("name:ip") and {@code shmBytes}
     * (null: the engine's default) are set on the pod's sandbox only; {@code ipcMode} is
     * "shareable" there and "container:<sandbox>" on the containers joining it.
     */
    public record Settings(String user, List<String> groups, boolean readOnlyRoot, List<String> capAdd, List<String> capDrop,
                           String hostname, String domainname, List<String> extraHosts, Long shmBytes, String ipcMode,
                           List<MemoryVolume> memoryVolumes) {
        public static final Settings NONE = new Settings(null, List.of(), false, List.of(), List.of(), null, null, List.of(), null,
                null, List.of());

        public Settings {
            groups = List.copyOf(groups);
            capAdd = List.copyOf(capAdd);
            capDrop = List.copyOf(capDrop);
            extraHosts = List.copyOf(extraHosts);
            memoryVolumes = List.copyOf(memoryVolumes);
        }
    }
}
