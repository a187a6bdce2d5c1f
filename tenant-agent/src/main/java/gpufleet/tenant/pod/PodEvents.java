package gpufleet.tenant.pod;

import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.PodStatus;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The Events a kubelet would record, read from how a pod's status moves: Scheduled, Pulling and
 * Pulled, Created and Started, Failed (image and create errors), BackOff. Each has a key so that it
 * is recorded once, even across agent restarts.
 */
final class PodEvents {
    record Event(String key, String type, String reason, String message) {}

    private PodEvents() {}

    /** {@code reported}: the host's statuses behind {@code after}, for how long each image pull took. */
    static List<Event> between(PodStatus before, PodStatus after, List<gpufleet.common.api.ContainerStatus> reported) {
        Map<String, Long> pullMillis = new HashMap<>();
        reported.forEach(r -> pullMillis.put(r.name(), r.imagePullMillis()));
        List<Event> out = new ArrayList<>();
        if (scheduled(after) && !scheduled(before)) {
            out.add(new Event("scheduled", "Normal", "Scheduled", "Successfully assigned to the GPU provider"));
        }
        Map<String, ContainerStatus> old = new HashMap<>();
        if (before != null && before.getContainerStatuses() != null) {
            before.getContainerStatuses().forEach(c -> old.put(c.getName(), c));
        }
        for (ContainerStatus c : after.getContainerStatuses() == null ? List.<ContainerStatus>of() : after.getContainerStatuses()) {
            ContainerStatus was = old.get(c.getName());
            int restarts = c.getRestartCount() == null ? 0 : c.getRestartCount();
            String id = c.getName() + "." + restarts;
            boolean running = c.getState() != null && c.getState().getRunning() != null;
            boolean wasRunning = was != null && was.getState() != null && was.getState().getRunning() != null
                    && String.valueOf(was.getRestartCount()).equals(String.valueOf(c.getRestartCount()));
            String reason = c.getState() != null && c.getState().getWaiting() != null ? c.getState().getWaiting().getReason() : null;
            String message = reason == null ? null : c.getState().getWaiting().getMessage();
            String pulling = "Pulling image \"" + c.getImage() + "\"";
            if ("ContainerCreating".equals(reason) && pulling.equals(message) || "ErrImagePull".equals(reason)) {
                out.add(new Event("pulling." + id, "Normal", "Pulling", pulling));
            }
            if (running && !wasRunning) {
                Long millis = pullMillis.get(c.getName());
                if (millis != null) {
                    out.add(new Event("pulling." + id, "Normal", "Pulling", pulling));
                    out.add(new Event("pulled." + id, "Normal", "Pulled", String.format(java.util.Locale.ROOT,
                            "Successfully pulled image \"%s\" in %.3fs", c.getImage(), millis / 1000.0)));
                } else {
                    out.add(new Event("pulled." + id, "Normal", "Pulled",
                            "Container image \"" + c.getImage() + "\" already present on machine"));
                }
                out.add(new Event("created." + id, "Normal", "Created", "Created container " + c.getName()));
                out.add(new Event("started." + id, "Normal", "Started", "Started container " + c.getName()));
            }
            String wasReason = was != null && was.getState() != null && was.getState().getWaiting() != null
                    ? was.getState().getWaiting().getReason() : null;
            if (reason != null && !reason.equals(wasReason)) {
                switch (reason) {
                    case "CrashLoopBackOff" -> out.add(new Event("backoff." + id, "Warning", "BackOff",
                            "Back-off restarting failed container " + c.getName()));
                    case "ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "CreateContainerError", "RunContainerError" ->
                            out.add(new Event("failed." + reason + "." + id, "Warning", "Failed",
                                    reason + (message == null ? "" : ": " + message)));
                    default -> { }
                }
            }
        }
        return out;
    }

    private static boolean scheduled(PodStatus s) {
        return s != null && s.getConditions() != null && s.getConditions().stream()
                .anyMatch(c -> c.getType().equals("PodScheduled") && c.getStatus().equals("True"));
    }
}
