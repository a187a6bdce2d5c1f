package gpufleet.tenant.kubelet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The kubelet API's configuration, and the service that starts it beside the agent. */
@EnableKubernetesMockClient(crud = true)
class KubeletServiceTest {
    KubernetesClient client;

    @Test
    void defaultsAreACertificateFromTheClusterOnEveryAddress() {
        KubeletConfig c = KubeletConfig.fromEnvironment(Map.of());
        assertThat(c.tls()).isEqualTo(KubeletConfig.Tls.CSR);
        assertThat(c.bindAddress()).isEqualTo("0.0.0.0");
        assertThat(c.clientCaFile()).isNull();
    }

    @Test
    void badValuesAreNamed() {
        assertThatThrownBy(() -> KubeletConfig.fromEnvironment(Map.of("GPUFLEET_KUBELET_TLS", "plain",
                "GPUFLEET_KUBELET_CLIENT_CA_FILE", "/nonexistent/ca.crt")))
                .hasMessageContaining("GPUFLEET_KUBELET_TLS: 'plain' is not one of csr, self-signed, off")
                .hasMessageContaining("GPUFLEET_KUBELET_CLIENT_CA_FILE: '/nonexistent/ca.crt' cannot be read");
    }

    @Test
    void selfSignedWhenConfiguredServesOnTheNodesPort() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        KubeletConfig config = KubeletConfig.fromEnvironment(Map.of("GPUFLEET_KUBELET_TLS", "self-signed",
                "GPUFLEET_KUBELET_BIND_ADDRESS", "127.0.0.1"));
        try (KubeletService service = new KubeletService(config, client, "k8s.gpu", "127.0.0.1", port)) {
            service.start(new ProcessBackend(Path.of("/nonexistent")));
            await().atMost(Duration.ofSeconds(20)).until(() -> service.port() == port);
        }
    }

    @Test
    void offServesNothing() {
        KubeletConfig config = KubeletConfig.fromEnvironment(Map.of("GPUFLEET_KUBELET_TLS", "off"));
        try (KubeletService service = new KubeletService(config, client, "k8s.gpu", "127.0.0.1", 0)) {
            service.start(new ProcessBackend(Path.of("/nonexistent")));
            assertThat(service.port()).isZero();
        }
    }
}
