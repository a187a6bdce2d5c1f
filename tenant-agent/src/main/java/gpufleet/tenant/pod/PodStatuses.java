package gpufleet.tenant.pod;

import gpufleet.common.api.ContainerStatus;
import gpufleet.common.api.WorkloadView;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerState;
import io.fabric8.kubernetes.api.model.ContainerStateBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.api.model.PodStatusBuilder;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** A pod's status as the kubelet would write it, from what the provider reports about its workload. */
public final class PodStatuses {
    private PodStatuses() {}

    /** A pod that cannot run: Pending, with a condition naming the rule. */
    public static PodStatus refused(Pod pod, String reason, String message) {
        return new PodStatusBuilder().withPhase("Pending")
                .withConditions(condition(pod, "PodScheduled", "False", reason, message))
                .withReason(reason).withMessage(message).build();
    }

    public static PodStatus of(Pod pod, WorkloadView w, String hostIp) {
        String phase = switch (w.phase()) {
            case "running" -> "Running";
            case "succeeded" -> "Succeeded";
            case "failed" -> "Failed";
            default -> "Pending";
        };
        boolean placed = !w.phase().equals("pending");
        boolean allReady = !w.containers().isEmpty() && w.containers().stream().allMatch(c -> Boolean.TRUE.equals(c.ready()));
        List<PodCondition> conditions = new ArrayList<>();
        conditions.add(placed ? condition(pod, "PodScheduled", "True", null, null)
                : condition(pod, "PodScheduled", "False", w.reason(), w.message()));
        List<String> incomplete = incompleteInits(pod, w);
        conditions.add(incomplete.isEmpty() ? condition(pod, "Initialized", "True", null, null) : condition(pod, "Initialized",
                "False", "ContainersNotInitialized", "containers with incomplete status: [" + String.join(" ", incomplete) + "]"));
        conditions.add(condition(pod, "ContainersReady", allReady ? "True" : "False", allReady ? null : "ContainersNotReady", null));
        conditions.add(condition(pod, "Ready", allReady ? "True" : "False", allReady ? null : "ContainersNotReady", null));
        List<io.fabric8.kubernetes.api.model.ContainerStatus> statuses = new ArrayList<>();
        for (var c : pod.getSpec().getContainers()) {
            ContainerStatus s = w.containers().stream().filter(x -> x.name().equals(c.getName())).findFirst().orElse(null);
            statuses.add(container(c.getName(), c.getImage(), s));
        }
        PodStatusBuilder b = new PodStatusBuilder().withPhase(phase).withConditions(conditions).withContainerStatuses(statuses)
                .withInitContainerStatuses(initStatuses(pod, w));
        if (placed) {
            b.withHostIP(hostIp).withStartTime(w.createdAt().toString());
        }
        if (w.phase().equals("failed") && w.reason() != null) {
            b.withReason(w.reason()).withMessage(w.message());
        }
        return b.build();
    }

    /**
     * The init containers that have not done their part, as the kubelet lists them: one that has
     * not exited 0, or a sidecar (restartPolicy Always) not started (its startup probe not passed yet).
     */
    private static List<String> incompleteInits(Pod pod, WorkloadView w) {
        List<String> out = new ArrayList<>();
        for (var c : inits(pod)) {
            ContainerStatus s = w.initContainers().stream().filter(x -> x.name().equals(c.getName())).findFirst().orElse(null);
            boolean done = s != null && ("Always".equals(c.getRestartPolicy()) ? started(s) || s.restartCount() > 0
                    : s.state().equals("terminated") && Integer.valueOf(0).equals(s.exitCode()));
            if (!done) {
                out.add(c.getName());
            }
        }
        return out;
    }

    /** initContainerStatuses in the pod's order; one whose turn has not come waits as PodInitializing. */
    private static List<io.fabric8.kubernetes.api.model.ContainerStatus> initStatuses(Pod pod, WorkloadView w) {
        List<io.fabric8.kubernetes.api.model.ContainerStatus> out = new ArrayList<>();
        for (var c : inits(pod)) {
            ContainerStatus s = w.initContainers().stream().filter(x -> x.name().equals(c.getName())).findFirst().orElse(null);
            out.add(container(c.getName(), c.getImage(), s, "PodInitializing"));
        }
        return out;
    }

    private static List<Container> inits(Pod pod) {
        return pod.getSpec().getInitContainers() == null ? List.of() : pod.getSpec().getInitContainers();
    }

    private static io.fabric8.kubernetes.api.model.ContainerStatus container(String name, String image, ContainerStatus s) {
        return container(name, image, s, "ContainerCreating");
    }

    /** {@code notYet}: the waiting reason of a container the host has not reported. */
    private static io.fabric8.kubernetes.api.model.ContainerStatus container(String name, String image, ContainerStatus s,
                                                                             String notYet) {
        var state = new ContainerStateBuilder();
        if (s == null) {
            state.withNewWaiting().withReason(notYet).endWaiting();
        } else {
            switch (s.state()) {
                case "running" -> state.withNewRunning().withStartedAt(text(s.startedAt())).endRunning();
                case "terminated" -> state.withNewTerminated().withExitCode(s.exitCode()).withReason(s.reason())
                        .withMessage(s.message()).withStartedAt(text(s.startedAt())).withFinishedAt(text(s.finishedAt()))
                        .withContainerID(s.containerId()).endTerminated();
                default -> state.withNewWaiting().withReason(s.reason()).withMessage(s.message()).endWaiting();
            }
        }
        return new io.fabric8.kubernetes.api.model.ContainerStatusBuilder().withName(name).withImage(image).withImageID("")
                .withContainerID(s == null ? null : s.containerId()).withReady(s != null && Boolean.TRUE.equals(s.ready()))
                .withRestartCount(s == null ? 0 : s.restartCount()).withStarted(s != null && started(s))
                .withState(state.build()).withLastState(s == null ? null : last(s.lastState())).build();
    }

    /**
     * The kubelet's started: running and past its startup probe, as the host says; from a host
     * before it, running.
     */
    private static boolean started(ContainerStatus s) {
        return s.started() != null ? s.started() && s.state().equals("running") : s.state().equals("running");
    }

    /** The kubelet's lastState: how the previous run ended (empty before the first restart, as the kubelet writes it). */
    private static ContainerState last(ContainerStatus.Terminated t) {
        if (t == null) {
            return new ContainerStateBuilder().build();
        }
        return new ContainerStateBuilder().withNewTerminated().withExitCode(t.exitCode()).withReason(t.reason())
                .withMessage(t.message()).withStartedAt(text(t.startedAt())).withFinishedAt(text(t.finishedAt()))
                .withContainerID(t.containerId()).endTerminated().build();
    }

    private static String text(Instant t) {
        return t == null ? null : t.toString();
    }

    /** Keeps a condition's transition time while its status stays the same. */
    private static PodCondition condition(Pod pod, String type, String status, String reason, String message) {
        String since = Instant.now().toString();
        if (pod.getStatus() != null && pod.getStatus().getConditions() != null) {
            for (PodCondition c : pod.getStatus().getConditions()) {
                if (c.getType().equals(type) && status.equals(c.getStatus()) && c.getLastTransitionTime() != null) {
                    since = c.getLastTransitionTime();
                }
            }
        }
        return new PodConditionBuilder().withType(type).withStatus(status).withReason(reason).withMessage(message)
                .withLastTransitionTime(since).build();
    }

    /** Whether two statuses differ in anything a user would see (transition times aside). */
    public static boolean differ(PodStatus a, PodStatus b) {
        return !essence(a).equals(essence(b));
    }

    private static Object essence(PodStatus s) {
        if (s == null) {
            return List.of();
        }
        Set<List<String>> conds = new HashSet<>();
        if (s.getConditions() != null) {
            s.getConditions().forEach(c -> conds.add(List.of(c.getType(), c.getStatus(), String.valueOf(c.getReason()),
                    String.valueOf(c.getMessage()))));
        }
        return List.of(String.valueOf(s.getPhase()), conds, String.valueOf(s.getContainerStatuses()),
                String.valueOf(s.getInitContainerStatuses()), String.valueOf(s.getHostIP()),
                String.valueOf(s.getReason()), String.valueOf(s.getMessage()));
    }
}
