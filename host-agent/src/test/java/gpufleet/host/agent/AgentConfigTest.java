package gpufleet.host.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import gpufleet.host.images.ImageGcPolicy;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AgentConfigTest {
    @Test
    void defaultsNeedOnlyTheControlApi() {
        AgentConfig c = AgentConfig.fromEnvironment(Map.of("GPUFLEET_CONTROL_API_URL", "https://fleet.example/"), "gpu-01");
        assertThat(c.controlApi().toString()).isEqualTo("https://fleet.example");
        assertThat(c.hostName()).isEqualTo("gpu-01");
        assertThat(c.runtime()).isEqualTo("nvidia");
        assertThat(c.heartbeatInterval()).isEqualTo(Duration.ofSeconds(10));
        assertThat(c.metricsPort()).as("not dcgm-exporter's 9400").isEqualTo(9401);
        assertThat(c.reservedMemoryBytes()).isEqualTo(4L << 30);
        assertThat(c.publishAddress().getHostAddress()).isEqualTo("127.0.0.1");
        assertThat(c.podEphemeralStorage()).isEqualTo(100L << 30);
        assertThat(c.storageCheckInterval()).isEqualTo(Duration.ofSeconds(10));
        assertThat(c.containerLogMaxBytes()).as("the kubelet's containerLogMaxSize").isEqualTo(10L << 20);
        assertThat(c.containerLogMaxFiles()).as("the kubelet's containerLogMaxFiles").isEqualTo(5);
    }

    @Test
    void diskBoundsTooSmallToMeanAnythingAreRefused() {
        assertThatThrownBy(() -> AgentConfig.fromEnvironment(Map.of("GPUFLEET_CONTROL_API_URL", "https://fleet.example",
                "GPUFLEET_POD_EPHEMERAL_STORAGE", "1Ki", "GPUFLEET_CONTAINER_LOG_MAX_FILES", "1",
                "GPUFLEET_CONTAINER_LOG_MAX_SIZE", "lots"), "gpu-01"))
                .hasMessageContaining("GPUFLEET_POD_EPHEMERAL_STORAGE: must be at least 1Mi")
                .hasMessageContaining("GPUFLEET_CONTAINER_LOG_MAX_FILES: '1' must be a whole number of at least 2")
                .hasMessageContaining("GPUFLEET_CONTAINER_LOG_MAX_SIZE: 'lots' is not a quantity");
    }

    @Test
    void imageGarbageCollectionTakesTheKubeletsDefaultsAndRefusesThresholdsThatCannotWork() {
        AgentConfig c = AgentConfig.fromEnvironment(Map.of("GPUFLEET_CONTROL_API_URL", "https://fleet.example"), "gpu-01");
        assertThat(c.imageGc()).isEqualTo(new ImageGcPolicy(85, 80, Duration.ofMinutes(2), Duration.ofMinutes(5)));
        assertThatThrownBy(() -> AgentConfig.fromEnvironment(Map.of("GPUFLEET_CONTROL_API_URL", "https://fleet.example",
                "GPUFLEET_IMAGE_GC_HIGH_THRESHOLD", "70", "GPUFLEET_IMAGE_GC_LOW_THRESHOLD", "75"), "gpu-01"))
                .hasMessageContaining("GPUFLEET_IMAGE_GC_LOW_THRESHOLD: 75 must be below GPUFLEET_IMAGE_GC_HIGH_THRESHOLD (70)");
        assertThatThrownBy(() -> AgentConfig.fromEnvironment(Map.of("GPUFLEET_CONTROL_API_URL", "https://fleet.example",
                "GPUFLEET_IMAGE_GC_HIGH_THRESHOLD", "101", "GPUFLEET_IMAGE_MINIMUM_GC_AGE", "soon"), "gpu-01"))
                .hasMessageContaining("GPUFLEET_IMAGE_GC_HIGH_THRESHOLD: '101' must be a whole percent from 0 to 100")
                .hasMessageContaining("GPUFLEET_IMAGE_MINIMUM_GC_AGE: 'soon' is not a duration");
        assertThat(AgentConfig.fromEnvironment(Map.of("GPUFLEET_CONTROL_API_URL", "https://fleet.example",
                "GPUFLEET_IMAGE_GC_HIGH_THRESHOLD", "100"), "gpu-01").imageGc().enabled()).as("100 turns it off").isFalse();
    }

    @Test
    void podPortsArePublishedOnAnAddressOfTheHostNeverOnAllInterfacesNorOnANameToResolve() {
        Map<String, String> env = new java.util.HashMap<>(Map.of("GPUFLEET_CONTROL_API_URL", "https://fleet.example"));
        env.put("GPUFLEET_PUBLISH_ADDRESS", "10.20.0.7");
        assertThat(AgentConfig.fromEnvironment(env, "gpu-01").publishAddress().getHostAddress()).isEqualTo("10.20.0.7");
        env.put("GPUFLEET_PUBLISH_ADDRESS", "fd00::7");
        assertThat(AgentConfig.fromEnvironment(env, "gpu-01").publishAddress().getHostAddress()).isEqualTo("fd00:0:0:0:0:0:0:7");
        for (String bad : java.util.List.of("0.0.0.0", "::", "gpu-01.internal", "10.20.0.300", "fd00::zz")) {
            env.put("GPUFLEET_PUBLISH_ADDRESS", bad);
            assertThatThrownBy(() -> AgentConfig.fromEnvironment(env, "gpu-01"))
                    .hasMessageContaining("GPUFLEET_PUBLISH_ADDRESS: '" + bad + "' must be an IP address (not a name, not 0.0.0.0 or ::)");
        }
    }

    @Test
    void everyProblemIsNamed() {
        assertThatThrownBy(() -> AgentConfig.fromEnvironment(Map.of(
                "GPUFLEET_DOCKER_HOST", "/var/run/docker.sock",
                "GPUFLEET_HEARTBEAT_INTERVAL", "often",
                "GPUFLEET_RESERVED_MEMORY", "lots"), "Bad_Name"))
                .hasMessageContaining("GPUFLEET_CONTROL_API_URL: is required")
                .hasMessageContaining("GPUFLEET_HOST_NAME: 'Bad_Name' must be a DNS label")
                .hasMessageContaining("GPUFLEET_DOCKER_HOST: '/var/run/docker.sock' must start with unix:// or tcp://")
                .hasMessageContaining("GPUFLEET_HEARTBEAT_INTERVAL: 'often' is not a duration")
                .hasMessageContaining("GPUFLEET_RESERVED_MEMORY: 'lots' is not a quantity");
    }

    @Test
    void aMachineWhoseNameCannotBeReadNeedsTheNameGiven() {
        assertThatThrownBy(() -> AgentConfig.fromEnvironment(Map.of("GPUFLEET_CONTROL_API_URL", "https://fleet.example"), null))
                .hasMessageContaining("GPUFLEET_HOST_NAME: is required (this machine's host name could not be read)");
        assertThat(AgentConfig.fromEnvironment(Map.of("GPUFLEET_CONTROL_API_URL", "https://fleet.example",
                "GPUFLEET_HOST_NAME", "gpu-07"), null).hostName()).isEqualTo("gpu-07");
    }
}
