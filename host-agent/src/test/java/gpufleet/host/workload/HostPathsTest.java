package gpufleet.host.workload;

import static org.assertj.core.api.Assertions.assertThat;

import gpufleet.common.api.ContainerStatus;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class HostPathsTest {
    private final HostPaths paths = new HostPaths(Path.of("/var/lib/gpufleet-agent"));

    @Test
    void aScrubbedStatusKeepsItsEventsWithTheirHostPathsHidden() {
        ContainerStatus.Event hook = new ContainerStatus.Event("poststart-1", "Warning", "FailedPostStartHook",
                "PostStartHook failed: OCI runtime exec failed: open /var/lib/docker/overlay2/abc/merged/x: no such file");
        ContainerStatus s = new ContainerStatus("main", "waiting", "PostStartHookError",
                "mount /var/lib/gpufleet-agent/pods/w/main/f failed", null, 1, null, null, null, "busybox:1", false, null, null,
                List.of(hook));
        ContainerStatus out = paths.scrub(s);
        assertThat(out.message()).isEqualTo("mount <host path> failed");
        // Dropped before: a status whose message was scrubbed was rebuilt without its events.
        assertThat(out.events()).singleElement().satisfies(e -> {
            assertThat(e.reason()).isEqualTo("FailedPostStartHook");
            assertThat(e.message()).isEqualTo("PostStartHook failed: OCI runtime exec failed: open <host path>: no such file");
        });
    }

    @Test
    void aStatusWithNothingToHideIsTheSameObject() {
        ContainerStatus s = new ContainerStatus("main", "running", null, null, null, 0, null, null, null, "busybox:1", true, null);
        assertThat(paths.scrub(s)).isSameAs(s);
    }
}
