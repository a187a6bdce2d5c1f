package gpufleet.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import gpufleet.common.api.WorkloadSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

class MountTargetsTest {

    @Test
    void filesGoAnywhereInTheTenantsOwnTree() {
        for (String ok : List.of("/etc/app/config.yaml", "/models/token", "/procfs-notes", "/device.txt", "/etc/hosts.allow",
                "/run/secrets/key", "/var/run/app.sock.conf")) {
            assertThat(MountTargets.refusal(ok)).as(ok).isNull();
        }
    }

    @Test
    void theKernelsTheRuntimesAndTheNvidiaRuntimesPathsAreRefusedHoweverWritten() {
        for (String bad : List.of("/proc/sys/kernel/core_pattern", "/proc", "//proc/self/attr/current", "/./sys/fs/cgroup/x",
                "/dev/nvidia0", "/dev", "/etc/hosts", "/etc//hosts", "/etc/./resolv.conf", "/etc/hostname", "/.dockerenv",
                "/var/run/nvidia-container-devices/GPU-1", "/run/nvidia-container-devices/all", "/", "/etc/", "relative/file",
                "/a/../proc/x")) {
            assertThat(MountTargets.refusal(bad)).as(bad).isNotNull();
        }
        assertThat(MountTargets.refusal("/proc/1/environ")).isEqualTo("is under /proc, where files cannot be mounted");
        assertThat(MountTargets.refusal("/etc//hosts")).isEqualTo("is /etc/hosts, which the container runtime manages");
    }

    @Test
    void aSpecWithSuchAFileIsRefusedNamingTheField() {
        assertThatThrownBy(() -> new WorkloadSpec.FileMount("/var/run/nvidia-container-devices/GPU-all", 0644, "eA=="))
                .isInstanceOf(Invalid.class).hasMessageContaining("path")
                .hasMessageContaining("is under /var/run/nvidia-container-devices");
    }
}
