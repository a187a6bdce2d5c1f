package gpufleet.tenant.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TenantAgentConfigTest {
    @Test
    void defaultsAreTheSeedsNodeName() {
        TenantAgentConfig c = TenantAgentConfig.fromEnvironment(Map.of("GPUFLEET_CONTROL_API_URL", "https://fleet.example",
                "GPUFLEET_TENANT_TOKEN", "gft_x", "POD_IP", "10.0.0.7"));
        assertThat(c.nodeName()).isEqualTo("k8s.gpu");
        assertThat(c.kubeletPort()).isEqualTo(10250);
        assertThat(c.nodeAddress()).isEqualTo("10.0.0.7");
        assertThat(c.healthPort()).isEqualTo(8081);
    }

    @Test
    void aHealthPortOutsideThePortRangeOrNotANumberIsRefused() {
        Map<String, String> base = Map.of("GPUFLEET_CONTROL_API_URL", "https://fleet.example", "GPUFLEET_TENANT_TOKEN", "gft_x");
        HashMap<String, String> env = new HashMap<>(base);
        env.put("GPUFLEET_HEALTH_PORT", "70000");
        assertThatThrownBy(() -> TenantAgentConfig.fromEnvironment(env))
                .hasMessageContaining("GPUFLEET_HEALTH_PORT: 70000 is outside 0..65535 (0: no health port)");
        env.put("GPUFLEET_HEALTH_PORT", "http");
        assertThatThrownBy(() -> TenantAgentConfig.fromEnvironment(env))
                .hasMessageContaining("GPUFLEET_HEALTH_PORT: 'http' is not a port number");
        env.put("GPUFLEET_HEALTH_PORT", "0");
        assertThat(TenantAgentConfig.fromEnvironment(env).healthPort()).as("0 turns the port off").isZero();
    }

    @Test
    void everyProblemIsNamed() {
        assertThatThrownBy(() -> TenantAgentConfig.fromEnvironment(Map.of("GPUFLEET_NODE_NAME", "K8S_GPU", "GPUFLEET_KUBELET_PORT", "x")))
                .hasMessageContaining("GPUFLEET_CONTROL_API_URL: is required")
                .hasMessageContaining("GPUFLEET_TENANT_TOKEN: is required")
                .hasMessageContaining("GPUFLEET_NODE_NAME: 'K8S_GPU' is not a valid node name")
                .hasMessageContaining("GPUFLEET_KUBELET_PORT: 'x' is not a port number");
    }
}
