package gpufleet.common.api;

import gpufleet.common.Invalid;
import java.time.Instant;
import java.util.Set;

/**
 * One container's state as the host sees it, in Kubernetes' terms: waiting (with a reason such
 * as ErrImagePull, CreateContainerError or CrashLoopBackOff), running (since when), or
 * terminated (exit code, reason OOMKilled, Error or Completed, when); plus restarts and, after
 * the first restart, how the run before this one ended ({@code lastState}, as the kubelet's
 * {@code lastState.terminated}; null in reports from agents before it). {@code imagePullMillis}:
 * how long this attempt's image pull took, null when the image was already present (the
 * tenant-agent's Pulled event says which).
 */
public record ContainerStatus(String name, String state, String reason, String message, Integer exitCode,
                              Integer restartCount, Instant startedAt, Instant finishedAt, String containerId,
                              String image, Boolean ready, Long imagePullMillis, Terminated lastState) {
    public static final Set<String> STATES = Set.of("waiting", "running", "terminated");

    public ContainerStatus {
        Invalid.requiredText(name, "name", 63);
        Invalid.required(state, "state");
        Invalid.check(STATES.contains(state), "state", "state must be waiting, running or terminated, got '" + state + "'");
        restartCount = restartCount == null ? 0 : restartCount;
        ready = ready != null && ready;
        Invalid.check(message == null || message.length() <= 4096, "message", "message is longer than 4096 characters");
        finishedAt = Terminated.notBefore(startedAt, finishedAt);
    }

    /** A status without a previous run. */
    public ContainerStatus(String name, String state, String reason, String message, Integer exitCode, Integer restartCount,
                           Instant startedAt, Instant finishedAt, String containerId, String image, Boolean ready,
                           Long imagePullMillis) {
        this(name, state, reason, message, exitCode, restartCount, startedAt, finishedAt, containerId, image, ready,
                imagePullMillis, null);
    }

    /** How a run of the container ended: reason OOMKilled, Error or Completed, with its exit code and times. */
    public record Terminated(String reason, String message, Integer exitCode, Instant startedAt, Instant finishedAt,
                             String containerId) {
        public Terminated {
            Invalid.check(message == null || message.length() <= 4096, "message", "message is longer than 4096 characters");
            finishedAt = notBefore(startedAt, finishedAt);
        }

        /**
         * An end is never shown before its start: the two can come from different clocks (the
         * agent's when it started the container, the engine's when it ended), a few
         * milliseconds apart for a container that ends at once.
         */
        static Instant notBefore(Instant startedAt, Instant finishedAt) {
            return startedAt != null && finishedAt != null && finishedAt.isBefore(startedAt) ? startedAt : finishedAt;
        }
    }
}
