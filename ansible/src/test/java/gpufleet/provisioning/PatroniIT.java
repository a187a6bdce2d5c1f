package gpufleet.provisioning;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.common.Json;
import gpufleet.control.support.ApiFixture;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * database.yml for real, on one cluster of three stand-in servers, in order: it forms one
 * synchronous Patroni cluster (a second run changes nothing); a writer connected through a URL
 * naming all three loses no acknowledged write when the leader's server is switched off, and
 * that server comes back as a replica when switched on; then two control-api replicas under a
 * fleet's load ride through the next leader's loss. Each failover prints its figures.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PatroniIT {
    private static PatroniCluster cluster;
    final Ansible ansible = new Ansible(ProvisioningIT.ANSIBLE_DIR, ProvisioningIT.WORK);

    @BeforeAll
    static void provision() throws IOException {
        ProvisioningIT.toolsAndImage();
        cluster = new PatroniCluster();
    }

    @AfterAll
    static void remove() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    @Order(1)
    void threeServersFormOneSynchronousClusterAndASecondRunChangesNothing() {
        Ansible.Run first = ansible.playbook("database.yml", cluster.inventory, "database-first");
        assertThat(first.result().ok()).as(first.toString()).isTrue();
        JsonNode members = cluster.awaitHealthy("a leader, a synchronous standby and a streaming replica");
        // Synchronous for real: the leader waits for the standby Patroni named (the only member a
        // failover may promote) before it acknowledges a commit.
        cluster.assertSynchronous(PatroniCluster.memberWith(members, "Leader"), PatroniCluster.memberWith(members, "Sync Standby"));

        Ansible.Run second = ansible.playbook("database.yml", cluster.inventory, "database-second");
        assertThat(second.result().ok()).as(second.toString()).isTrue();
        for (String name : cluster.servers.keySet()) {
            assertThat(second.host(name).changed()).as(second.toString()).isZero();
        }
    }

    @Test
    @Order(2)
    void aWriterLosesNoAcknowledgedWriteWhenTheLeadersServerIsSwitchedOffAndTheServerComesBackAsAReplica() throws Exception {
        JsonNode members = cluster.awaitHealthy("the cluster before the failover");
        String leader = PatroniCluster.memberWith(members, "Leader");
        String standby = PatroniCluster.memberWith(members, "Sync Standby");
        try (Connection conn = cluster.connect(""); Statement s = conn.createStatement()) {
            // A schema of its own: the control-api's schema history lives in public, which must stay its alone.
            s.execute("CREATE SCHEMA writer");
            s.execute("CREATE TABLE writer.acknowledged (id bigint PRIMARY KEY)");
        }
        Writer writer = new Writer(cluster);
        Thread thread = new Thread(writer, "patroni-writer");
        thread.start();
        await("writes before the failover").atMost(Duration.ofSeconds(30)).until(() -> writer.acknowledged.size() >= 200);

        cluster.switchOff(leader);
        long off = System.nanoTime(); // nothing the old leader acknowledges can come after this
        long firstAck = await("a write acknowledged by a new primary").atMost(Duration.ofSeconds(120))
                .pollInterval(Duration.ofMillis(100)).until(() -> writer.firstAckConnectedAfter(off), at -> at != 0);
        long acknowledgedAtFailover = writer.acknowledged.size();
        await("writes after the failover").atMost(Duration.ofSeconds(30)).until(() -> writer.acknowledged.size() >= acknowledgedAtFailover + 200);
        writer.running.set(false);
        thread.join(10_000);

        Set<Long> stored = new HashSet<>();
        try (Connection conn = cluster.connect(""); Statement s = conn.createStatement();
                ResultSet rs = s.executeQuery("SELECT id FROM writer.acknowledged")) {
            while (rs.next()) {
                stored.add(rs.getLong(1));
            }
        }
        List<Long> lost = new ArrayList<>(writer.acknowledged);
        lost.removeAll(stored);
        String promoted = PatroniCluster.memberWith(PatroniCluster.members(cluster.anyRunning()), "Leader");
        System.out.printf("patroni failover (writer): %.1f s without a primary (server off to the next acknowledged write),"
                        + " %d writes failed, %d acknowledged, %d acknowledged writes lost; leader %s -> %s%n",
                (firstAck - off) / 1e9, writer.failed.get(), writer.acknowledged.size(), lost.size(), leader, promoted);
        assertThat(lost).as("acknowledged writes missing after the failover").isEmpty();
        assertThat(promoted).as("only the synchronous standby may be promoted").isEqualTo(standby);

        cluster.switchOn(leader);
        JsonNode after = cluster.awaitHealthy("the old leader's server back, as a replica");
        assertThat(PatroniCluster.memberWith(after, "Leader")).isEqualTo(standby);
    }

    @Test
    @Order(3)
    void twoControlApiServersRideThroughTheLeadersLossUnderLoad() throws Exception {
        JsonNode members = cluster.awaitHealthy("the cluster before the second failover");
        String leader = PatroniCluster.memberWith(members, "Leader");
        try (StandInHost a = StandInHost.start("cp1", "api-1", List.of()); StandInHost b = StandInHost.start("cp2", "api-2", List.of())) {
            // As an operator configures it: the control-plane playbook, the database elsewhere, every
            // member in the URL and nothing else (the control-api adds its own timeouts).
            Path inventory = Files.writeString(ProvisioningIT.WORK.resolve("control-plane-ha.inventory.yml"), """
                    all:
                      vars:
                        ansible_connection: community.docker.docker
                      children:
                        control_plane:
                          hosts:
                            api-1: {ansible_host: %s}
                            api-2: {ansible_host: %s}
                          vars:
                            postgresql_enabled: false
                            caddy_edge_enabled: false
                            control_api_listen: 0.0.0.0:8080
                            control_api_db_url: "%s"
                            control_api_db_password: %s
                            gpufleet_operator_token: %s
                            gpufleet_control_api_jar: %s
                            gpufleet_seal_key: %s
                    """.formatted(a.container, b.container, cluster.url(""), cluster.dbPassword, ApiFixture.OPERATOR,
                    ProvisioningIT.CONTROL_API_JAR, ProvisioningIT.sealKey()));
            Ansible.Run run = ansible.playbook("control-plane.yml", inventory, "control-plane-ha");
            assertThat(run.result().ok()).as(run.toString()).isTrue();

            List<StandInHost> apis = List.of(a, b);
            FleetLoad load = new FleetLoad(apis.stream().map(s -> URI.create("http://" + s.address() + ":8080")).toList(), 12);
            load.start();
            await("creates before the failover").atMost(Duration.ofSeconds(30)).until(() -> load.acknowledged.size() >= 20);

            cluster.switchOff(leader);
            long off = System.nanoTime();
            long firstAck = await("a create acknowledged after the failover").atMost(Duration.ofSeconds(120))
                    .pollInterval(Duration.ofMillis(100)).until(() -> load.firstCreateSentAfter(off), at -> at != 0);
            await("creates after the failover").atMost(Duration.ofSeconds(60)).until(() -> load.acknowledgedSince(firstAck) >= 20);
            load.close();

            List<String> lost = new ArrayList<>();
            long doubles;
            try (Connection db = cluster.connect("")) {
                Set<String> stored = new HashSet<>();
                try (PreparedStatement ps = db.prepareStatement("SELECT pod_uid FROM workloads"); ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        stored.add(rs.getString(1));
                    }
                }
                load.acknowledged.stream().filter(uid -> !stored.contains(uid)).forEach(lost::add);
                doubles = count(db, """
                        SELECT count(*) FROM (SELECT a.gpu_uuid FROM gpu_allocations a JOIN workloads w ON w.id = a.workload_id
                        WHERE a.released_at IS NULL AND w.deleted_at IS NULL GROUP BY a.gpu_uuid HAVING count(*) > 1) d""");
            }
            System.out.printf("patroni failover (2 control-api servers, 12 hosts heartbeating each second, a create every 300 ms):"
                            + " %.1f s from the server off to the next acknowledged create; answers %s, %d without an answer;"
                            + " %d creates acknowledged, %d lost; %d GPUs held twice%n",
                    (firstAck - off) / 1e9, load.answers(), load.noAnswer.get(), load.acknowledged.size(), lost.size(), doubles);
            assertThat(load.answers().keySet()).as("every answer a success or a 503, never a wrong one").isSubsetOf(200, 201, 204, 503);
            assertThat(load.noAnswer.get()).as("requests left without an answer").isZero();
            assertThat(load.without503RetryAfter.get()).as("503s without Retry-After").isZero();
            assertThat(lost).as("acknowledged creates missing after the failover").isEmpty();
            assertThat(doubles).as("GPUs held by two live workloads").isZero();
            for (StandInHost api : apis) {
                // The LISTEN connections found the new primary: the host credentials and the wake-ups.
                await("LISTEN again on the new primary").atMost(Duration.ofSeconds(30)).until(() -> {
                    String journal = api.exec("journalctl", "-u", "gpufleet-control-api", "--no-pager", "-o", "cat");
                    return journal.contains("host credentials current again") && journal.contains("LISTEN connection back after");
                });
            }
        }
    }

    @Test
    @Order(4)
    void theLeaderBacksUpTheClusterAndTheBackupWithItsArchivedWalRestoresOnANewServer() throws Exception {
        JsonNode members = cluster.allOn("all three servers on again");
        StandInHost leader = cluster.servers.get(PatroniCluster.memberWith(members, "Leader"));
        StandInHost replica = cluster.servers.get(PatroniCluster.memberWith(members, "Replica"));
        // Every member has the timer; the unit backs up only where Patroni says the leader is.
        replica.exec("systemctl", "start", "gpufleet-db-backup.service");
        assertThat(backups(replica)).as("a replica takes no backup").isZero();
        leader.exec("systemctl", "start", "gpufleet-db-backup.service");
        assertThat(backups(leader)).as("the leader's full backup").isEqualTo(1);

        // Written after the backup: only the archived WAL brings these back.
        try (Connection conn = cluster.connect(""); Statement s = conn.createStatement()) {
            s.execute("CREATE TABLE writer.after_backup AS SELECT generate_series(1, 1000) AS id");
        }
        leader.exec("runuser", "-u", "postgres", "--", "pgbackrest", "--stanza=gpufleet", "check"); // switches and archives the WAL
        long workloads;
        try (Connection conn = cluster.connect("")) {
            workloads = count(conn, "SELECT count(*) FROM workloads");
        }

        // A new server, the repository mounted, the postgres user with the members' uid (as on NFS).
        String uid = leader.exec("id", "-u", "postgres").strip();
        String gid = leader.exec("id", "-g", "postgres").strip();
        try (StandInHost restore = StandInHost.start("db1", "db-restore",
                List.of("--volume", cluster.repository + ":" + PatroniCluster.REPOSITORY_PATH))) {
            restore.exec("sh", "-c", "groupadd -g " + gid + " postgres && useradd -u " + uid + " -g postgres -d /var/lib/postgresql -s /bin/bash postgres"
                    + " && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends"
                    + " postgresql-15 pgbackrest >/dev/null && pg_dropcluster --stop 15 main");
            Commands.check("sh", "-c", "docker exec " + leader.container + " cat /etc/pgbackrest.conf | docker exec -i " + restore.container
                    + " sh -c 'cat > /etc/pgbackrest.conf'");
            String data = "/var/lib/postgresql/15/gpufleet";
            restore.exec("install", "-d", "-o", "postgres", "-g", "postgres", "-m", "0700", data);
            restore.exec("runuser", "-u", "postgres", "--", "pgbackrest", "--stanza=gpufleet", "restore");
            // Alone, not a member: no standby to wait for, no archiving into the cluster's repository.
            restore.exec("runuser", "-u", "postgres", "--", "/usr/lib/postgresql/15/bin/pg_ctl", "-D", data, "-w", "-t", "120",
                    "-o", "-c synchronous_standby_names= -c archive_mode=off -c listen_addresses=", "start");
            String restored = await("the restored server replays the archived WAL").atMost(Duration.ofSeconds(60)).ignoreExceptions()
                    .until(() -> restore.exec("runuser", "-u", "postgres", "--", "psql", "-AtX", "-d", "gpufleet", "-c",
                            "SELECT (SELECT count(*) FROM writer.after_backup) || ' ' || (SELECT count(*) FROM workloads)").strip(),
                            r -> !r.isEmpty());
            System.out.printf("patroni backup and restore: restored server has %s (rows written after the backup, workloads)%n", restored);
            assertThat(restored).isEqualTo("1000 " + workloads);
        }
    }

    /** How many backups `pgbackrest info` lists in the repository. */
    private static int backups(StandInHost server) throws IOException {
        JsonNode info = Json.mapper().readTree(server.exec("runuser", "-u", "postgres", "--", "pgbackrest", "--stanza=gpufleet",
                "--output=json", "info"));
        return info.get(0).path("backup").size();
    }

    private static long count(Connection conn, String sql) throws SQLException {
        try (Statement s = conn.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** Inserts 1, 2, 3 … one transaction each, reconnecting after any failure; remembers what was acknowledged. */
    private static final class Writer implements Runnable {
        final PatroniCluster cluster;
        final AtomicBoolean running = new AtomicBoolean(true);
        final ConcurrentLinkedQueue<Long> acknowledged = new ConcurrentLinkedQueue<>();
        /** For each connection that acknowledged a write: when it began to connect, when its first write was acknowledged. */
        final ConcurrentLinkedQueue<long[]> connections = new ConcurrentLinkedQueue<>();
        final AtomicInteger failed = new AtomicInteger();

        Writer(PatroniCluster cluster) {
            this.cluster = cluster;
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
                try (Connection conn = cluster.connect("&connectTimeout=2&socketTimeout=5&loginTimeout=5");
                        PreparedStatement ps = conn.prepareStatement("INSERT INTO writer.acknowledged (id) VALUES (?)")) {
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

}
