package gpufleet.host.runtime;

import java.util.List;
import java.util.Map;

/**
 * Everything needed to create one container, already decided by the agent: the runtime, the GPU
 * pin (in {@code env}), limits and hardening. {@code networkMode} is a network name or
 * {@code container:<id>} to join a pod's shared namespace. Binds are always read-only. The log is
 * Docker's json-file, rotated at {@code logMaxBytes}, {@code logMaxFiles} files kept.
 */
public record Plan(String name, String image, Map<String, String> labels, List<String> entrypoint, List<String> cmd,
                   List<String> env, String runtime, long nanoCpus, long memoryBytes, long pidsLimit,
                   String networkMode, List<Bind> binds, String workingDir, boolean tty, boolean stdin, long logMaxBytes,
                   int logMaxFiles) {

    public record Bind(String hostPath, String containerPath) {}
}
