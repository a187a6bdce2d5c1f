package gpufleet.provisioning;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.common.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * Three stand-in servers provisioned by database.yml: PostgreSQL under Patroni with etcd. Knows
 * its members by name, reads `patronictl list`, and switches servers off and on again.
 */
final class PatroniCluster implements AutoCloseable {
    static final String DB_USER = "gpufleet";
    private static final String ADDRESS_PREFIX = StandInHost.GATEWAY.substring(0, StandInHost.GATEWAY.lastIndexOf('.') + 1);
    final String dbPassword = UUID.randomUUID().toString();
    final Map<String, StandInHost> servers = new LinkedHashMap<>();
    final Path inventory;
    /** The backup repository: a volume every member mounts, as an NFS export would be. */
    final String repository = "gpufleet-pgbackrest-" + UUID.randomUUID().toString().substring(0, 8);
    static final String REPOSITORY_PATH = "/var/lib/pgbackrest";

    PatroniCluster() throws IOException {
        for (int i = 1; i <= 3; i++) {
            // Fixed addresses (high in the stand-ins' subnet, clear of those Docker hands out from
            // the bottom): a server switched on again must come back at the address its peers know.
            servers.put("db-" + i, StandInHost.start("db" + i, "db-" + i,
                    List.of("--ip", ADDRESS_PREFIX + (200 + i), "--volume", repository + ":" + REPOSITORY_PATH)));
        }
        StringBuilder yml = new StringBuilder("""
                all:
                  vars:
                    ansible_connection: community.docker.docker
                  children:
                    database:
                      hosts:
                """);
        servers.forEach((name, s) -> yml.append("        ").append(name).append(": {ansible_host: ").append(s.container).append("}\n"));
        yml.append("""
                      vars:
                        patroni_superuser_password: %s
                        patroni_replication_password: %s
                        control_api_db_password: %s
                        patroni_backup_repository: %s
                """.formatted(UUID.randomUUID(), UUID.randomUUID(), dbPassword, REPOSITORY_PATH));
        inventory = Files.writeString(ProvisioningIT.WORK.resolve("database.inventory.yml"), yml);
    }

    /** The URL the control-api uses: every member, the driver picks the primary. */
    String url(String extra) {
        StringBuilder url = new StringBuilder("jdbc:postgresql://");
        for (int i = 1; i <= servers.size(); i++) {
            url.append(i > 1 ? "," : "").append(ADDRESS_PREFIX).append(200 + i).append(":5432");
        }
        return url + "/gpufleet?targetServerType=primary" + extra;
    }

    Connection connect(String extra) throws SQLException {
        return DriverManager.getConnection(url(extra), DB_USER, dbPassword);
    }

    /** `patronictl list` as JSON, asked of {@code server} (any member that runs answers for all). */
    static JsonNode members(StandInHost server) throws IOException {
        String out = server.exec("patronictl", "-c", "/etc/patroni/config.yml", "list", "-f", "json");
        // With a member down, patronictl logs its failed etcd calls on the same output first.
        int start = out.indexOf("\n[");
        return Json.mapper().readTree(out.startsWith("[") || start < 0 ? out : out.substring(start + 1));
    }

    /** Waits until all three members run: a leader, a synchronous standby, a streaming replica. */
    JsonNode awaitHealthy(String why) {
        return await(why).atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofSeconds(1)).ignoreExceptions()
                .until(() -> members(anyRunning()), m -> {
                    Set<String> roles = new HashSet<>();
                    m.forEach(x -> roles.add(x.path("Role").asText()));
                    boolean allUp = true;
                    for (JsonNode x : m) {
                        String state = x.path("State").asText();
                        allUp &= state.equals("running") || state.equals("streaming");
                    }
                    return m.size() == 3 && allUp && roles.equals(Set.of("Leader", "Sync Standby", "Replica"));
                });
    }

    /** A server that is on, to ask. */
    StandInHost anyRunning() {
        return servers.values().stream().filter(StandInHost::running).findFirst().orElseThrow();
    }

    static String memberWith(JsonNode members, String role) {
        for (JsonNode m : members) {
            if (m.path("Role").asText().equals(role) && !m.path("State").asText().equals("stopped")) {
                return m.path("Member").asText();
            }
        }
        return null;
    }

    /** Asserts that the leader waits for {@code standby} before it acknowledges a commit. */
    void assertSynchronous(String leader, String standby) {
        assertThat(servers.get(leader).exec("runuser", "-u", "postgres", "--", "psql", "-AtXc",
                "SELECT application_name || ' ' || sync_state FROM pg_stat_replication WHERE sync_state = 'sync'").strip())
                .as("the leader's synchronous standby").isEqualTo(standby + " sync");
    }

    /**
     * Switches {@code name}'s server off: cut from the network first, then its container killed.
     * Killing alone would not do: the kernel closes a killed process's connections, and the
     * peers would hear of it at once; a server that loses power says nothing, and its peers find
     * out only by waiting for an answer.
     */
    void switchOff(String name) {
        Commands.check("docker", "network", "disconnect", "--force", StandInHost.NETWORK, servers.get(name).container);
        Commands.check("docker", "kill", servers.get(name).container);
    }

    /** Switches it on again: back on the network at its address, the same disk, systemd boots etcd and Patroni. */
    void switchOn(String name) {
        int i = Integer.parseInt(name.substring(name.lastIndexOf('-') + 1));
        Commands.check("docker", "network", "connect", "--ip", ADDRESS_PREFIX + (200 + i), StandInHost.NETWORK, servers.get(name).container);
        servers.get(name).restart();
    }

    /** Switches on every server that is off, and waits until all three run again. */
    JsonNode allOn(String why) {
        servers.forEach((name, s) -> {
            if (!s.running()) {
                switchOn(name);
            }
        });
        return awaitHealthy(why);
    }

    @Override
    public void close() {
        servers.values().forEach(StandInHost::close);
        if (System.getenv("GPUFLEET_KEEP_STAND_INS") == null) {
            Commands.run(null, Map.of(), Duration.ofSeconds(30), List.of("docker", "volume", "rm", "--force", repository));
        }
    }
}
