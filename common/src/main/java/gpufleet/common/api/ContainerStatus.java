package gpufleet.common.api;

import gpufleet.common.Invalid;
import java.time.Instant;
import java.util.List;
import java.util.Set;

/**
 * One container's state as the host sees it, in Kubernetes' terms: waiting (with a reason such
 * as ErrImagePull, CreateContainerError or CrashLoopBackOff), running (since when), or
 * terminated (exit code, reason OOMKilled, Error or Completed, when); plus restarts and, after
 * the first restart, how the run before this one ended ({@code lastState}, as the kubelet's
 * {@code lastState.terminated}; null in reports from agents before it). {@code imagePullMillis}:
 * how long this attempt's image pull took, null when the image was already present (the
 * tenant-agent's Pulled event says which). {@code events}: what the host saw happen to the
 * container that its state cannot tell (a probe failed, the host killed it for that), newest last,
 * at most {@link #MAX_EVENTS}; the tenant-agent records each once, by its key. {@code started}:
 * the kubelet's field, true once the container runs and its startup probe (if any) has passed;
 * null from agents before it, where running stands for it.
 */
public record ContainerStatus(String name, String state, String reason, String message, Integer exitCode,
                              Integer restartCount, Instant startedAt, Instant finishedAt, String containerId,
                              String image, Boolean ready, Long imagePullMillis, Terminated lastState, List<Event> events,
                              Boolean started) {
    public static final Set<String> STATES = Set.of("waiting", "running", "terminated");
    public static final int MAX_EVENTS = 16;

    public ContainerStatus {
        Invalid.requiredText(name, "name", 63);
        Invalid.required(state, "state");
        Invalid.check(STATES.contains(state), "state", "state must be waiting, running or terminated, got '" + state + "'");
        restartCount = restartCount == null ? 0 : restartCount;
        ready = ready != null && ready;
        Invalid.check(message == null || message.length() <= 4096, "message", "message is longer than 4096 characters");
        finishedAt = Terminated.notBefore(startedAt, finishedAt);
        events = events == null ? List.of() : List.copyOf(events);
        Invalid.check(events.size() <= MAX_EVENTS, "events", "at most " + MAX_EVENTS + " events per container");
    }

    /** A status whose {@code started} the host has not worked out (the probes set it). */
    public ContainerStatus(String name, String state, String reason, String message, Integer exitCode, Integer restartCount,
                           Instant startedAt, Instant finishedAt, String containerId, String image, Boolean ready,
                           Long imagePullMillis, Terminated lastState, List<Event> events) {
        this(name, state, reason, message, exitCode, restartCount, startedAt, finishedAt, containerId, image, ready,
                imagePullMillis, lastState, events, null);
    }

    /** A status without host events. */
    public ContainerStatus(String name, String state, String reason, String message, Integer exitCode, Integer restartCount,
                           Instant startedAt, Instant finishedAt, String containerId, String image, Boolean ready,
                           Long imagePullMillis, Terminated lastState) {
        this(name, state, reason, message, exitCode, restartCount, startedAt, finishedAt, containerId, image, ready,
                imagePullMillis, lastState, null);
    }

    /** The same status with {@code ready} and {@code events} replaced. */
    public ContainerStatus with(boolean ready, List<Event> events) {
        return with(ready, started, events);
    }

    /** The same status with {@code ready}, {@code started} and {@code events} replaced. */
    public ContainerStatus with(boolean ready, Boolean started, List<Event> events) {
        return new ContainerStatus(name, state, reason, message, exitCode, restartCount, startedAt, finishedAt, containerId, image,
                ready, imagePullMillis, lastState, events, started);
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

    /**
     * An Event as the kubelet records it about a container: {@code type} Normal or Warning, its
     * reason (Unhealthy, Killing, ProbeWarning, ...) and message; {@code key} names this one
     * occurrence, so that reporting it again records nothing new.
     */
    public record Event(String key, String type, String reason, String message) {
        public Event {
            Invalid.requiredText(key, "events.key", 128);
            Invalid.check("Normal".equals(type) || "Warning".equals(type), "events.type", "an event's type is Normal or Warning");
            Invalid.requiredText(reason, "events.reason", 128);
            Invalid.requiredText(message, "events.message", 1024);
        }
    }
}
