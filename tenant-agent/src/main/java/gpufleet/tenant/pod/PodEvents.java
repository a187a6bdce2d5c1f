package gpufleet.tenant.pod;

import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.PodStatus;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The Events a kubelet would record, read from how a pod's status moves: Scheduled, Created and
 * Started, Failed (image and create errors), BackOff. Each has a key so that it is recorded once,
 * even across agent restarts.
 */
final class PodEvents {
    record Event(String key, String type, String reason, String message) {}

    private PodEvents() {}

    static List<Event> between(PodStatus before, PodStatus after) {
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
            if (running && !wasRunning) {
                out.add(new Event("created." + id, "Normal", "Created", "Created container " + c.getName()));
                out.add(new Event("started." + id, "Normal", "Started", "Started container " + c.getName()));
            }
            String reason = c.getState() != null && c.getState().getWaiting() != null ? c.getState().getWaiting().getReason() : null;
            String wasReason = was != null && was.getState() != null && was.getState().getWaiting() != null
                    ? was.getState().getWaiting().getReason() : null;
            if (reason != null && !reason.equals(wasReason)) {
                String message = c.getState().getWaiting().getMessage();
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
