package gpufleet.provisioning;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.control.support.ApiFixture;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

/**
 * The playbooks for real: ansible-lint and the syntax check, then gpu-hosts.yml and
 * control-plane.yml against stand-ins for bare-metal servers (Debian 12 containers with
 * systemd, see {@link StandInHost}). Without ansible, ansible-lint, Docker or the stand-in
 * image the tests fail, naming the command that installs them; they never skip. The tests run
 * at the same time: most of their time is spent waiting on apt and on {@code docker exec}.
 */
@Execution(ExecutionMode.CONCURRENT)
class ProvisioningIT {
    static final Path ANSIBLE_DIR = Path.of(System.getProperty("gpufleet.ansible.dir", ".")).toAbsolutePath();
    static final Path WORK = Path.of(System.getProperty("gpufleet.work.dir", "target/provisioning")).toAbsolutePath();
    static final String HOST_AGENT_JAR = existing("gpufleet.hostAgentJar");
    static final String CONTROL_API_JAR = existing("gpufleet.controlApiJar");
    static final String NVML_SIM = existing("gpufleet.nvmlSim");

    final Ansible ansible = new Ansible(ANSIBLE_DIR, WORK);

    @BeforeAll
    static void toolsAndImage() throws IOException {
        for (String tool : List.of("ansible-playbook", "ansible-lint", "docker")) {
            Commands.check(tool, "--version");
        }
        Commands.Result docker = Commands.run(null, Map.of(), java.time.Duration.ofSeconds(30), List.of("docker", "info"));
        assertThat(docker.ok()).as("Docker Engine is not answering; start it with: bash dev/services.sh docker\n%s", docker).isTrue();
        Commands.Result image = Commands.run(null, Map.of(), java.time.Duration.ofSeconds(30),
                List.of("docker", "image", "inspect", StandInHost.IMAGE));
        assertThat(image.ok()).as("the stand-in server image %s is missing; build it with: bash dev/services.sh ansible",
                StandInHost.IMAGE).isTrue();
        StandInHost.removeLeftovers();
        Files.createDirectories(WORK);
    }

    @Test
    void everyPlaybookPassesAnsibleLintAndTheSyntaxCheck() {
        Commands.Result lint = ansible.lint();
        assertThat(lint.ok()).as(lint.toString()).isTrue();
        for (String playbook : List.of("gpu-hosts.yml", "control-plane.yml", "database.yml", "site.yml")) {
            Commands.Result check = ansible.syntaxCheck(playbook);
            assertThat(check.ok()).as(check.toString()).isTrue();
        }
    }

    @Test
    void aServerWithNothingOnItBecomesAReadyHostASecondRunChangesNothingAndARollingUpgradeCordonsAndUncordons() throws IOException {
        String name = "gpu-ansible-01";
        try (ApiFixture fx = ApiFixture.start(Map.of("GPUFLEET_LISTEN", "0.0.0.0:0"));
                StandInHost server = StandInHost.start("gpu", name, List.of())) {
            // No GPU here: the simulated NVML sits where the driver would put libnvidia-ml.so.1.
            server.copyIn(NVML_SIM, "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1");
            server.exec("ldconfig");
            Path inventory = write("gpu-hosts.inventory.yml", """
                    all:
                      vars:
                        ansible_connection: community.docker.docker
                      children:
                        gpu_hosts:
                          hosts:
                            %s:
                              ansible_host: %s
                          vars:
                            gpufleet_control_api_url: http://%s:%d
                            gpufleet_operator_token: %s
                            gpufleet_host_agent_jar: %s
                            # No GPU: no driver and no toolkit; runc is registered as the runtime
                            # "nvidia" instead (as on development machines).
                            nvidia_driver_enabled: false
                            nvidia_container_toolkit_enabled: false
                            docker_nvidia_runtime_stand_in: /usr/sbin/runc
                    """.formatted(name, server.container, StandInHost.GATEWAY, fx.api.port(), ApiFixture.OPERATOR,
                    HOST_AGENT_JAR));

            Ansible.Run first = ansible.playbook("gpu-hosts.yml", inventory, "gpu-hosts-first");
            assertThat(first.result().ok()).as(first.toString()).isTrue();
            assertThat(first.host(name).changed()).as(first.toString()).isPositive();

            JsonNode listed = null;
            for (JsonNode h : fx.http.get("/v1/hosts", ApiFixture.OPERATOR).json().path("items")) {
                if (h.path("name").asText().equals(name)) {
                    listed = h;
                }
            }
            assertThat(listed).as("host %s in GET /v1/hosts", name).isNotNull();
            assertThat(listed.path("state").asText()).isEqualTo("ready");
            JsonNode detail = fx.http.get("/v1/hosts/" + name, ApiFixture.OPERATOR).json();
            assertThat(detail.path("gpus")).as(detail.toString()).hasSize(8);
            assertThat(condition(detail, "NvmlReady")).isEqualTo("True");
            assertThat(condition(detail, "ContainerRuntimeReady")).as(detail.toString()).isEqualTo("True");
            assertThat(condition(detail, "PodNetworkIsolated")).as("the agent's pod firewall, as user gpufleet-agent: %s", detail)
                    .isEqualTo("True");
            // Routes' pod ports are published on the host's default IPv4 address (here its address on
            // the stand-ins' network).
            String address = server.address();
            assertThat(server.exec("cat", "/etc/gpufleet/host-agent.env").lines()).contains("GPUFLEET_PUBLISH_ADDRESS=" + address);
            assertThat(server.exec("cat", "/etc/gpufleet/host-agent.env").lines())
                    .contains("GPUFLEET_PAUSE_IMAGE=gpufleet/pause:local", "GPUFLEET_POD_FIREWALL=iptables");
            assertThat(server.exec("docker", "image", "inspect", "--format", "{{index .Config.Labels \"org.gpufleet.busybox\"}}",
                    "gpufleet/pause:local")).as("the pause image, built on the host from busybox-static").isNotBlank();
            assertThat(detail.at("/host/address").asText()).as("registered at the address its join token binds").isEqualTo(address);

            assertThat(server.exec("systemctl", "is-enabled", "gpufleet-host-agent")).isEqualTo("enabled");
            assertThat(server.exec("systemctl", "show", "gpufleet-host-agent",
                    "--property=ActiveState,User,Restart,StateDirectory,NoNewPrivileges,ProtectSystem"))
                    .contains("ActiveState=active", "User=gpufleet-agent", "Restart=on-failure",
                            "StateDirectory=gpufleet-agent", "NoNewPrivileges=yes", "ProtectSystem=strict");
            assertThat(server.exec("stat", "-c", "%a %U", "/var/lib/gpufleet-agent/credential.json")).isEqualTo("600 gpufleet-agent");
            assertNoTokenLeftOn(server);
            JsonNode join = fx.http.get("/v1/join-tokens", ApiFixture.OPERATOR).json().path("items").get(0);
            assertThat(join.path("hosts").toString()).as("the join token names this host alone").isEqualTo("[\"" + name + "\"]");
            assertThat(join.path("used").asInt()).as(join.toString()).isEqualTo(join.path("uses").asInt()).isEqualTo(1);
            // The runtime "nvidia" that the docker role registered really runs containers.
            Commands.check("sh", "-c", "docker save gpufleet/busybox:test | docker exec -i " + server.container + " docker load");
            assertThat(server.exec("docker", "run", "--rm", "--runtime", "nvidia", "gpufleet/busybox:test", "echo", "ok")).isEqualTo("ok");

            Ansible.Run second = ansible.playbook("gpu-hosts.yml", inventory, "gpu-hosts-second");
            assertThat(second.result().ok()).as(second.toString()).isTrue();
            assertThat(second.host(name).changed()).as(second.toString()).isZero();

            // The rolling upgrade with the same jar: cordoned, drained (nothing runs there), not
            // restarted, ready again and uncordoned; the cordon and the uncordon are its only changes.
            Ansible.Run upgrade = ansible.playbook("upgrade-host-agents.yml", inventory, "upgrade-host-agents");
            assertThat(upgrade.result().ok()).as(upgrade.toString()).isTrue();
            assertThat(upgrade.host(name).changed()).as(upgrade.toString()).isEqualTo(2);
            JsonNode after = fx.http.get("/v1/hosts/" + name, ApiFixture.OPERATOR).json();
            assertThat(after.at("/host/state").asText()).as(after.toString()).isEqualTo("ready");
            assertThat(after.at("/host/cordoned").asBoolean()).isFalse();
            assertNoTokenLeftOn(server);
        }
    }

    @Test
    void theControlPlaneServesItselfThroughTheEdgeItLoadsIntoCaddyAndASecondRunChangesNothing() throws IOException {
        String name = "fleet-ansible-01";
        String operatorToken = "gfo_" + UUID.randomUUID().toString().replace("-", "");
        // A name under the tenants' domain (by default the API's name) that no route has.
        String unknown = "0badc0de-nobody.fleet.test";
        try (StandInHost server = StandInHost.start("cp", name,
                List.of("--add-host", "fleet.test:127.0.0.1", "--add-host", unknown + ":127.0.0.1"))) {
            Path inventory = write("control-plane.inventory.yml", """
                    all:
                      vars:
                        ansible_connection: community.docker.docker
                      children:
                        control_plane:
                          hosts:
                            %s:
                              ansible_host: %s
                          vars:
                            gpufleet_operator_token: %s
                            gpufleet_control_api_jar: %s
                            control_api_db_password: %s
                            gpufleet_seal_key: %s
                            caddy_edge_api_domain: fleet.test
                            caddy_edge_tls: internal
                    """.formatted(name, server.container, operatorToken, CONTROL_API_JAR, UUID.randomUUID(), sealKey()));

            Ansible.Run first = ansible.playbook("control-plane.yml", inventory, "control-plane-first");
            assertThat(first.result().ok()).as(first.toString()).isTrue();

            assertThat(get(server, "http://127.0.0.1:8080/readyz", null)).startsWith("200 ").contains("\"ready\"");
            // The control-api starts only with a key file its user alone may read.
            assertThat(server.exec("stat", "-c", "%a %U", "/etc/gpufleet/seal.key").strip()).isEqualTo("400 gpufleet-api");
            // Caddy started with nothing but its admin API: the API's site through it is the
            // control-api's edge sync at work (its server "gpufleet", a certificate from Caddy's CA).
            assertThat(awaitStatus(server, "https://fleet.test/readyz", "200 ")).contains("\"ready\"");
            assertThat(get(server, "http://127.0.0.1:2019/config/apps/http/servers/gpufleet/listen", null)).isEqualTo("200 [\":443\"]");
            // The unknown name's certificate (the domain's wildcard) is issued on its own, after the API's
            // name may already be served: until then Caddy has none to offer and the handshake fails.
            assertThat(awaitStatus(server, "https://" + unknown + "/", "404 ")).startsWith("404 ").contains("no service is published at this name");
            // The first operator token from the inventory is accepted, through the edge.
            assertThat(get(server, "https://fleet.test/v1/hosts", operatorToken)).startsWith("200 ");
            assertThat(get(server, "https://fleet.test/v1/hosts", "gfo_not-the-token-0123456789abcdef")).startsWith("401 ");

            // A restarted Caddy comes back bare; the control-api loads it again within its sync interval.
            server.exec("systemctl", "restart", "caddy");
            assertThat(awaitStatus(server, "https://fleet.test/readyz", "200 ")).contains("\"ready\"");

            Ansible.Run second = ansible.playbook("control-plane.yml", inventory, "control-plane-second");
            assertThat(second.result().ok()).as(second.toString()).isTrue();
            assertThat(second.host(name).changed()).as(second.toString()).isZero();
        }
    }

    /** A new sealing key, as an operator makes one: base64 of 32 random bytes. */
    static String sealKey() {
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        return Base64.getEncoder().encodeToString(key);
    }

    /**
     * Neither the operator token nor any join token is anywhere on the GPU host: not in a file
     * (configuration, Ansible's temporary files, logs) nor in its journal, where a module run on
     * the host would have logged its arguments.
     */
    private static void assertNoTokenLeftOn(StandInHost server) {
        for (String secret : List.of(ApiFixture.OPERATOR, "gfj_")) {
            String found = server.exec("sh", "-c", "grep -rlF --devices=skip -e \"$1\" /etc /var /root /tmp /opt /home /run /usr/local"
                    + " 2>/dev/null; echo \"journal: $(journalctl --no-pager -o cat 2>/dev/null | grep -cF -e \"$1\")\"", "sh", secret);
            assertThat(found).as("files and journal lines on the host holding %s", secret.startsWith("gfj_") ? "a join token"
                    : "the operator token").isEqualTo("journal: 0");
        }
    }

    /** {@link #get} until the answer starts with {@code status}, for up to 30 s; the last answer. */
    private static String awaitStatus(StandInHost server, String url, String status) {
        String answer = get(server, url, null);
        for (int i = 0; i < 60 && !answer.startsWith(status); i++) {
            sleep(500);
            answer = get(server, url, null);
        }
        return answer;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /**
     * "STATUS BODY" of a GET made inside the stand-in (certificates of Caddy's local CA are not
     * checked); "0 REASON" when no answer came.
     */
    private static String get(StandInHost server, String url, String token) {
        String script = """
                import ssl, sys, urllib.request, urllib.error
                ctx = ssl._create_unverified_context()
                req = urllib.request.Request(sys.argv[1])
                if len(sys.argv) > 2:
                    req.add_header("Authorization", "Bearer " + sys.argv[2])
                try:
                    r = urllib.request.urlopen(req, context=ctx, timeout=20)
                    print(r.status, r.read().decode())
                except urllib.error.HTTPError as e:
                    print(e.code, e.read().decode())
                except Exception as e:
                    print(0, e)
                """;
        return token == null ? server.exec("python3", "-c", script, url) : server.exec("python3", "-c", script, url, token);
    }

    private static String condition(JsonNode host, String type) {
        for (JsonNode c : host.at("/host/conditions")) {
            if (c.path("type").asText().equals(type)) {
                return c.path("status").asText();
            }
        }
        return null;
    }

    private static Path write(String fileName, String content) throws IOException {
        Path file = WORK.resolve(fileName);
        Files.writeString(file, content);
        return file;
    }

    private static String existing(String property) {
        String path = System.getProperty(property);
        if (path == null || !Files.isRegularFile(Path.of(path))) {
            throw new AssertionError(property + " = " + path + " is not a file; build the programs first "
                    + "(mvn -B -ntp verify builds them before this module)");
        }
        return path;
    }
}
