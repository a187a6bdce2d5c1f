package gpufleet.host.workload;

import gpufleet.common.api.ContainerStatus;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Takes the host's own paths out of what tenants read. Docker's and runc's errors name the source
 * of a bind mount (the agent's state directory) and Docker's data root; a tenant sees the error,
 * never where this host keeps things. Paths inside the container stay: they are the tenant's.
 */
final class HostPaths {
    static final String HIDDEN = "<host path>";
    private final Pattern pattern;

    HostPaths(Path stateDir) {
        String state = Pattern.quote(stateDir.toAbsolutePath().normalize().toString());
        // A path runs until whitespace, a quote, a colon or a closing bracket, as Docker writes them.
        this.pattern = Pattern.compile("(?:" + state + "|/var/lib/docker|/var/lib/containerd|/run/containerd|/var/run/docker|/run/docker"
                + "|/proc/self/fd)(?:/[^\\s\\\\\"':\\])]*)?");
    }

    String scrub(String message) {
        return message == null ? null : pattern.matcher(message).replaceAll(Matcher.quoteReplacement(HIDDEN));
    }

    ContainerStatus scrub(ContainerStatus s) {
        String m = scrub(s.message());
        ContainerStatus.Terminated last = s.lastState();
        String lastMessage = last == null ? null : scrub(last.message());
        // A hook's failure event quotes the engine's error, host paths included.
        List<ContainerStatus.Event> events = s.events().stream()
                .map(e -> new ContainerStatus.Event(e.key(), e.type(), e.reason(), scrub(e.message()))).toList();
        if ((m == null || m.equals(s.message())) && (lastMessage == null || lastMessage.equals(last.message()))
                && events.equals(s.events())) {
            return s;
        }
        if (last != null) {
            last = new ContainerStatus.Terminated(last.reason(), lastMessage, last.exitCode(), last.startedAt(), last.finishedAt(),
                    last.containerId());
        }
        return new ContainerStatus(s.name(), s.state(), s.reason(), m, s.exitCode(), s.restartCount(), s.startedAt(), s.finishedAt(),
                s.containerId(), s.image(), s.ready(), s.imagePullMillis(), last, events);
    }

    PodRunner.Outcome scrub(PodRunner.Outcome o) {
        List<ContainerStatus> statuses = o.statuses().stream().map(this::scrub).toList();
        return new PodRunner.Outcome(statuses, o.gone(), o.ports(), o.initStatuses().stream().map(this::scrub).toList());
    }
}
