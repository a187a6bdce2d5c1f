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
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * database.yml for real: three stand-in servers become one PostgreSQL cluster under Patroni
 * with etcd, synchronous replication on, and a writer connected through a URL naming all three
 * (as the control-api connects) loses no acknowledged write when the leader's server is switched
 * off (its container killed). Prints the failover's figures.
 */
class PatroniIT {
    private static final String DB_PASSWORD = UUID.randomUUID().toString();

    final Ansible ansible = new Ansible(ProvisioningIT.ANSIBLE_DIR, ProvisioningIT.WORK);

    @BeforeAll
    static void toolsAndImage() throws IOException {
        ProvisioningIT.toolsAndImage();
    }

    @Test
    void threeServersFormOneSynchronousClusterAndAKilledLeaderLosesNoAcknowledgedWrite() throws Exception {
        try (StandInHost a = StandInHost.start("db1", "db-1", List.of());
                StandInHost b = StandInHost.start("db2", "db-2", List.of());
                StandInHost c = StandInHost.start("db3", "db-3", List.of())) {
            Map<String, StandInHost> servers = Map.of("db-1", a, "db-2", b, "db-3", c);
            Path inventory = Files.writeString(ProvisioningIT.WORK.resolve("database.inventory.yml"), """
                    all:
                      vars:
                        ansible_connection: community.docker.docker
                      children:
                        database:
                          hosts:
                            db-1: {ansible_host: %s}
                            db-2: {ansible_host: %s}
                            db-3: {ansible_host: %s}
                          vars:
                            patroni_superuser_password: %s
                            patroni_replication_password: %s
                            control_api_db_password: %s
                    """.formatted(a.container, b.container, c.container, UUID.randomUUID(), UUID.randomUUID(), DB_PASSWORD));

            Ansible.Run first = ansible.playbook("database.yml", inventory, "database-first");
            assertThat(first.result().ok()).as(first.toString()).isTrue();
            JsonNode members = await("a leader, a synchronous standby and a streaming replica").atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofSeconds(1)).until(() -> members(a), m -> roles(m).equals(Set.of("Leader", "Sync Standby", "Replica"))
                            && states(m).stream().allMatch(s -> s.equals("running") || s.equals("streaming")));
            String leader = memberWith(members, "Leader");
            String standby = memberWith(members, "Sync Standby");

            Ansible.Run second = ansible.playbook("database.yml", inventory, "database-second");
            assertThat(second.result().ok()).as(second.toString()).isTrue();
            for (String name : servers.keySet()) {
                assertThat(second.host(name).changed()).as(second.toString()).isZero();
            }

            String url = "jdbc:postgresql://" + a.address() + ":5432," + b.address() + ":5432," + c.address() + ":5432/gpufleet"
                    + "?targetServerType=primary&connectTimeout=2&socketTimeout=5&loginTimeout=5";
            try (Connection conn = connect(url); Statement s = conn.createStatement()) {
                s.execute("CREATE TABLE acknowledged (id bigint PRIMARY KEY)");
            }
            Writer writer = new Writer(url);
            Thread thread = new Thread(writer, "patroni-writer");
            thread.start();
            await("writes before the failover").atMost(Duration.ofSeconds(30)).until(() -> writer.acknowledged.size() >= 200);

            // Synchronous for real: the leader waits for the standby Patroni named (what a failover
            // may promote) before it acknowledges a commit.
            assertThat(servers.get(leader).exec("runuser", "-u", "postgres", "--", "psql", "-AtXc",
                    "SELECT application_name || ' ' || sync_state FROM pg_stat_replication WHERE sync_state = 'sync'").strip())
                    .isEqualTo(standby + " sync");

            Commands.check("docker", "kill", servers.get(leader).container);
            long killedAt = System.nanoTime(); // the server is off: nothing it acknowledges from here on
            long firstAck = await("a write acknowledged by a new primary").atMost(Duration.ofSeconds(120))
                    .pollInterval(Duration.ofMillis(100)).until(() -> writer.firstAckConnectedAfter(killedAt), at -> at != 0);
            double withoutPrimary = (firstAck - killedAt) / 1e9;
            long acknowledgedAtFailover = writer.acknowledged.size();
            await("writes after the failover").atMost(Duration.ofSeconds(30)).until(() -> writer.acknowledged.size() >= acknowledgedAtFailover + 200);
            writer.running.set(false);
            thread.join(10_000);

            Set<Long> stored = new HashSet<>();
            try (Connection conn = connect(url); Statement s = conn.createStatement();
                    ResultSet rs = s.executeQuery("SELECT id FROM acknowledged")) {
                while (rs.next()) {
                    stored.add(rs.getLong(1));
                }
            }
            List<Long> lost = new ArrayList<>(writer.acknowledged);
            lost.removeAll(stored);
            StandInHost survivor = servers.get(standby);
            JsonNode after = await("the standby leads").atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> members(survivor),
                    m -> leaderOf(m) != null);
            System.out.printf("patroni failover: %.1f s without a primary (server off to the next acknowledged write), %d writes failed,"
                            + " %d acknowledged, %d acknowledged writes lost; leader %s -> %s%n",
                    withoutPrimary, writer.failed.get(), writer.acknowledged.size(), lost.size(), leader, leaderOf(after));
            assertThat(lost).as("acknowledged writes missing after the failover").isEmpty();
            assertThat(leaderOf(after)).as("only the synchronous standby may be promoted").isEqualTo(standby);
            assertThat(withoutPrimary).as("the leader key's TTL bounds the time without a primary").isLessThan(60);
        }
    }

    /** Inserts 1, 2, 3 … one transaction each, reconnecting after any failure; remembers what was acknowledged. */
    private static final class Writer implements Runnable {
        final String url;
        final AtomicBoolean running = new AtomicBoolean(true);
        final ConcurrentLinkedQueue<Long> acknowledged = new ConcurrentLinkedQueue<>();
        /** For each connection that acknowledged a write: when it began to connect, when its first write was acknowledged. */
        final ConcurrentLinkedQueue<long[]> connections = new ConcurrentLinkedQueue<>();
        final AtomicInteger failed = new AtomicInteger();

        Writer(String url) {
            this.url = url;
        }

        /** When a connection begun after {@code nanos} (so to a server alive then) first acknowledged a write; 0: none yet. */
        long firstAckConnectedAfter(long nanos) {
            return connections.stream().filter(c -> c[0] > nanos).mapToLong(c -> c[1]).min().orElse(0);
        }

        @Override
        public void run() {
            long next = 1;
            while (running.get()) {
                long connecting = System.nanoTime();
                try (Connection conn = connect(url);
                        PreparedStatement ps = conn.prepareStatement("INSERT INTO acknowledged (id) VALUES (?)")) {
                    boolean first = true;
                    while (running.get()) {
                        ps.setLong(1, next);
                        ps.executeUpdate(); // autocommit: returning is the acknowledgement
                        acknowledged.add(next);
                        if (first) {
                            connections.add(new long[] {connecting, System.nanoTime()});
                            first = false;
                        }
                        next++;
                    }
                } catch (SQLException e) {
                    // The insert of `next` may or may not have committed; it was not acknowledged, so
                    // it is not counted either way, and the next try uses a new id.
                    failed.incrementAndGet();
                    next++;
                    pause();
                }
            }
        }

        private static void pause() {
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static Connection connect(String url) throws SQLException {
        return DriverManager.getConnection(url, "gpufleet", DB_PASSWORD);
    }

    /**
     * `patronictl list` as JSON, run on {@code server}. With a member down, patronictl logs its
     * failed etcd calls on the same output before the JSON, so the JSON is taken from its start.
     */
    private static JsonNode members(StandInHost server) throws IOException {
        String out = server.exec("patronictl", "-c", "/etc/patroni/config.yml", "list", "-f", "json");
        int start = out.indexOf("\n[");
        return Json.mapper().readTree(out.startsWith("[") || start < 0 ? out : out.substring(start + 1));
    }

    private static Set<String> roles(JsonNode members) {
        Set<String> roles = new HashSet<>();
        members.forEach(m -> roles.add(m.path("Role").asText()));
        return members.size() == 3 ? roles : Set.of();
    }

    private static List<String> states(JsonNode members) {
        List<String> states = new ArrayList<>();
        members.forEach(m -> states.add(m.path("State").asText()));
        return states;
    }

    private static String memberWith(JsonNode members, String role) {
        for (JsonNode m : members) {
            if (m.path("Role").asText().equals(role)) {
                return m.path("Member").asText();
            }
        }
        throw new AssertionError("no " + role + " in " + members);
    }

    private static String leaderOf(JsonNode members) {
        for (JsonNode m : members) {
            if (m.path("Role").asText().equals("Leader") && m.path("State").asText().equals("running")) {
                return m.path("Member").asText();
            }
        }
        return null;
    }
}
