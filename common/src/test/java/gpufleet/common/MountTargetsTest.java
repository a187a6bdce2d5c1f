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

    @Test
    void aVolumesKeysStayInsideItAndLeaveTheHostsOwnNamesAlone() {
        assertThat(MountTargets.volumeRefusal("/etc/config", "/etc/config/app.yaml")).isNull();
        assertThat(MountTargets.volumeRefusal("/etc/config", "/etc/config/nested/key")).isNull();
        assertThat(MountTargets.volumeRefusal("/etc/config", "/etc/config")).as("the volume's directory").isNull();
        assertThat(MountTargets.volumeRefusal("/etc/config", "/etc/config/..data"))
                .isEqualTo("key '..data' of volume '/etc/config' must not start with '..'");
        assertThat(MountTargets.volumeRefusal("/etc/config", "/etc/config/..2026_12_07/x")).contains("must not start with '..'");
        assertThat(MountTargets.volumeRefusal("/etc/config", "/etc/other/key")).isEqualTo("path '/etc/other/key' is not inside its volume "
                + "'/etc/config'");
        assertThat(MountTargets.volumeRefusal("/etc/config", "/etc/configx")).contains("is not inside its volume");
        for (String bad : List.of("/etc/config//key", "/etc/config/./key", "/etc/config/a/./b")) {
            assertThat(MountTargets.volumeRefusal("/etc/config", bad)).as(bad).contains("must be a relative path");
        }
        for (String volume : List.of("/", "relative", "/proc/self", "/dev", "/a/../etc", "/etc//config", "/etc/./config")) {
            assertThat(MountTargets.volumeRefusal(volume, volume + "/key")).as(volume).startsWith("volume '" + volume + "'");
        }
    }

    @Test
    void aVolumeFileTheHostCouldNotLayOutIsRefusedNamingTheField() {
        assertThatThrownBy(() -> new WorkloadSpec.FileMount("/etc/config/..data", 0644, "eA==", "/etc/config"))
                .isInstanceOf(Invalid.class).hasMessageContaining("volume").hasMessageContaining("must not start with '..'");
        assertThatThrownBy(() -> new WorkloadSpec.FileMount("/etc/config", 0644, "eA==", "/etc/config"))
                .isInstanceOf(Invalid.class).hasMessageContaining("has no content");
        assertThat(new WorkloadSpec.FileMount("/etc/config", 0644, "", "/etc/config").volumeDirectory()).isTrue();
        assertThat(new WorkloadSpec.FileMount("/etc/config/a", 0644, "eA==").volume()).as("a file mounted alone").isNull();
    }
}
