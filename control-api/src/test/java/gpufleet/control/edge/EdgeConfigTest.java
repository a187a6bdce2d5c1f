package gpufleet.control.edge;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.control.config.ControlApiConfig;
import gpufleet.control.config.EdgeSettings;
import gpufleet.control.config.SealKey;
import gpufleet.control.support.ApiFixture;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The Caddy document for each way of getting certificates, and the settings that are refused. */
class EdgeConfigTest {
    static EdgeSettings settings(Map<String, String> extra) {
        Map<String, String> v = new HashMap<>(ControlApiConfig.DEFAULTS);
        v.put("GPUFLEET_EDGE_ADMIN_URL", "http://127.0.0.1:2019");
        v.put("GPUFLEET_EDGE_DOMAIN", "gpu.provider.example");
        v.put(SealKey.FILE_VARIABLE, ApiFixture.SEAL_KEY_FILE.toString());
        v.putAll(extra);
        return ControlApiConfig.from(v).edge();
    }

    static final List<EdgeConfig.Route> ROUTES = List.of(
            new EdgeConfig.Route("a-t1.gpu.provider.example", "t1", "default", "web", List.of("10.0.0.7:41000", "10.0.0.8:41001")),
            new EdgeConfig.Route("b-t1.gpu.provider.example", "t1", "default", "idle", List.of()));

    @Test
    void internalIssuesOneWildcardFromCaddysOwnCaAndAnswersEveryName() {
        JsonNode c = EdgeConfig.of(settings(Map.of()), "127.0.0.1:2019", ROUTES);
        assertThat(c.at("/admin/listen").asText()).isEqualTo("127.0.0.1:2019");
        JsonNode routes = c.at("/apps/http/servers/gpufleet/routes");
        assertThat(routes).hasSize(3);
        assertThat(routes.at("/0/handle/0/upstreams/1/dial").asText()).isEqualTo("10.0.0.8:41001");
        JsonNode keepAlive = routes.at("/0/handle/0/transport/keep_alive");
        assertThat(routes.at("/0/handle/0/transport/protocol").asText()).isEqualTo("http");
        assertThat(keepAlive.at("/enabled").asBoolean()).as("connections to the pods are reused").isTrue();
        assertThat(keepAlive.at("/max_idle_conns_per_host").asInt()).as("room for more than Caddy's 32 idle ones")
                .isEqualTo(EdgeConfig.IDLE_CONNECTIONS_PER_UPSTREAM).isGreaterThan(32);
        assertThat(keepAlive.at("/idle_timeout").asText()).as("an idle connection still times out").isEqualTo("2m");
        assertThat(routes.at("/1/handle/0/status_code").asInt()).isEqualTo(503);
        assertThat(routes.at("/1/handle/0/body").asText()).contains("default/idle");
        assertThat(routes.at("/2/match").isMissingNode()).isTrue();
        assertThat(routes.at("/2/handle/0/status_code").asInt()).isEqualTo(404);
        assertThat(c.at("/apps/http/servers/gpufleet/listen/0").asText()).isEqualTo(":443");
        assertThat(c.at("/apps/tls/certificates/automate/0").asText()).isEqualTo("*.gpu.provider.example");
        assertThat(c.at("/apps/tls/automation/policies/0/issuers/0/module").asText()).isEqualTo("internal");
        assertThat(c.at("/apps/pki/certificate_authorities/local/install_trust").asBoolean(true))
                .as("the edge leaves the machine's trust store alone").isFalse();
        assertThat(EdgeConfig.of(settings(Map.of()), "127.0.0.1:2019", ROUTES)).isEqualTo(c);
    }

    @Test
    void filesLoadsTheProvidersWildcardCertificate() {
        JsonNode c = EdgeConfig.of(settings(Map.of("GPUFLEET_EDGE_TLS", "files", "GPUFLEET_EDGE_CERT_FILE", "/etc/ssl/edge.crt",
                "GPUFLEET_EDGE_KEY_FILE", "/etc/ssl/edge.key")), "127.0.0.1:2019", ROUTES);
        assertThat(c.at("/apps/tls/certificates/load_files/0/certificate").asText()).isEqualTo("/etc/ssl/edge.crt");
        assertThat(c.at("/apps/tls/certificates/load_files/0/key").asText()).isEqualTo("/etc/ssl/edge.key");
        assertThat(c.at("/apps/http/servers/gpufleet/automatic_https/disable").asBoolean()).isTrue();
        assertThat(c.at("/apps/tls/automation").isMissingNode()).isTrue();
    }

    @Test
    void acmeLetsCaddyObtainOneCertificatePerName() {
        JsonNode c = EdgeConfig.of(settings(Map.of("GPUFLEET_EDGE_TLS", "acme", "GPUFLEET_EDGE_ACME_EMAIL", "ops@provider.example")),
                "127.0.0.1:2019", ROUTES);
        assertThat(c.at("/apps/tls/automation/policies/0/issuers/0/module").asText()).isEqualTo("acme");
        assertThat(c.at("/apps/tls/automation/policies/0/issuers/0/email").asText()).isEqualTo("ops@provider.example");
        assertThat(c.at("/apps/http/servers/gpufleet/automatic_https/disable").isMissingNode()).isTrue();
    }

    @Test
    void theControlApisOwnSiteIsKeptWhenTheSameCaddyFrontsIt() {
        JsonNode c = EdgeConfig.of(settings(Map.of("GPUFLEET_EDGE_API_NAME", "fleet.provider.example",
                "GPUFLEET_EDGE_API_UPSTREAMS", "10.0.0.2:8080, 10.0.0.3:8080")), "127.0.0.1:2019", ROUTES);
        JsonNode first = c.at("/apps/http/servers/gpufleet/routes/0");
        assertThat(first.at("/match/0/host/0").asText()).isEqualTo("fleet.provider.example");
        assertThat(first.at("/handle/0/upstreams/1/dial").asText()).isEqualTo("10.0.0.3:8080");
        assertThat(c.at("/apps/tls/certificates/automate")).hasSize(2);
        assertThat(EdgeConfig.covered("api.gpu.provider.example", "gpu.provider.example")).isTrue();
        assertThat(EdgeConfig.covered("a.b.gpu.provider.example", "gpu.provider.example")).isFalse();
    }

    @Test
    void settingsThatCannotWorkAreRefusedWithTheReason() {
        assertThatThrownBy(() -> settings(Map.of("GPUFLEET_EDGE_TLS", "files")))
                .hasMessageContaining("GPUFLEET_EDGE_TLS=files needs GPUFLEET_EDGE_CERT_FILE and GPUFLEET_EDGE_KEY_FILE");
        assertThatThrownBy(() -> settings(Map.of("GPUFLEET_EDGE_TLS", "self-signed"))).hasMessageContaining("must be internal, files or acme");
        assertThatThrownBy(() -> settings(Map.of("GPUFLEET_EDGE_DOMAIN", "localhost"))).hasMessageContaining("at least two labels");
        assertThatThrownBy(() -> settings(Map.of("GPUFLEET_EDGE_ADMIN_URL", "https://caddy:2019"))).hasMessageContaining("admin API");
        assertThatThrownBy(() -> settings(Map.of("GPUFLEET_EDGE_API_NAME", "fleet.provider.example")))
                .hasMessageContaining("GPUFLEET_EDGE_API_UPSTREAMS");
    }
}
