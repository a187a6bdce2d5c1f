package gpufleet.common.api;

import gpufleet.common.Invalid;
import java.time.Instant;
import java.util.Set;

/**
 * One container's state as the host sees it, in Kubernetes' terms: waiting (with a reason such
 * as ErrImagePull or CreateContainerError), running (since when), or terminated (exit code,
 * reason, when); plus restarts. {@code imagePullMillis}: how long this attempt's image pull took,
 * null when the image was already present (the tenant-agent's Pulled event says which).
 */
public record ContainerStatus(String name, String state, String reason, String message, Integer exitCode,
                              Integer restartCount, Instant startedAt, Instant finishedAt, String containerId,
                              String image, Boolean ready, Long imagePullMillis) {
    public static final Set<String> STATES = Set.of("waiting", "running", "terminated");

    public ContainerStatus {
        Invalid.requiredText(name, "name", 63);
        Invalid.required(state, "state");
        Invalid.check(STATES.contains(state), "state", "state must be waiting, running or terminated, got '" + state + "'");
        restartCount = restartCount == null ? 0 : restartCount;
        ready = ready != null && ready;
        Invalid.check(message == null || message.length() <= 4096, "message", "message is longer than 4096 characters");
    }
}
