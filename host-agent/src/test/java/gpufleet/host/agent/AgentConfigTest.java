package gpufleet.host.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
        assertThat(c.metricsPort()).isEqualTo(9400);
        assertThat(c.reservedMemoryBytes()).isEqualTo(4L << 30);
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
}
