package gpufleet.bench;

import gpufleet.control.auth.TokenSecrets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/** Writes a simulated fleet straight into the database: hosts, their GPUs, and a credential each. */
final class FleetSeed {
    static final String[] MODELS = {"NVIDIA RTX A6000", "NVIDIA A100-SXM4-80GB", "NVIDIA H100 80GB HBM3"};

    record SeededHost(UUID id, String token, String model) {}

    private FleetSeed() {}

    static List<SeededHost> seed(Connection c, int hosts, int gpusPerHost) throws SQLException {
        return seed(c, hosts, gpusPerHost, MODELS);
    }

    /** A fleet whose hosts carry the given models, spread evenly (one model: every host the same). */
    static List<SeededHost> seed(Connection c, int hosts, int gpusPerHost, String... models) throws SQLException {
        c.setAutoCommit(false);
        try (Statement s = c.createStatement()) {
            s.execute("""
                    INSERT INTO hosts (id, name, liveness)
                    SELECT md5('bench-host-' || i)::uuid, 'bench-' || lpad(i::text, 6, '0'), 'ready'
                    FROM generate_series(1, %d) i""".formatted(hosts));
            s.execute("""
                    INSERT INTO host_inventory (host_id, generation, driver_version, cuda_version, cpu_millis, memory_bytes,
                        allocatable_cpu_millis, allocatable_memory_bytes)
                    SELECT id, 1, '550.127.05', '12.4', 64000, 274877906944, 63000, 269892665344 FROM hosts""");
            s.execute("""
                    INSERT INTO gpus (uuid, host_id, idx, model, memory_bytes, pci_bus_id, numa_node, healthy, updated_at)
                    SELECT 'GPU-' || h.id || '-' || g, h.id, g,
                           (ARRAY[%s])[1 + (abs(hashtext(h.name)) %% %d)],
                           51527024640, '00000000:' || to_hex(24 + g) || ':00.0', g / 4, true, now()
                    FROM hosts h, generate_series(0, %d) g""".formatted(String.join(", ", java.util.Arrays.stream(models).map(m -> "'" + m + "'").toList()),
                            models.length, gpusPerHost - 1));
        }
        List<SeededHost> out = new ArrayList<>(hosts);
        try (PreparedStatement ids = c.prepareStatement("SELECT h.id, min(g.model) FROM hosts h JOIN gpus g ON g.host_id = h.id GROUP BY h.id ORDER BY h.id");
             PreparedStatement ins = c.prepareStatement(
                     "INSERT INTO tokens (id, role, host_id, secret_hash, description) VALUES (?, 'host', ?, ?, 'bench')")) {
            var rs = ids.executeQuery();
            while (rs.next()) {
                UUID id = rs.getObject(1, UUID.class);
                String token = "gfh_bench_" + UUID.randomUUID();
                ins.setObject(1, UUID.randomUUID());
                ins.setObject(2, id);
                ins.setBytes(3, TokenSecrets.hash(token));
                ins.addBatch();
                out.add(new SeededHost(id, token, rs.getString(2)));
            }
            ins.executeBatch();
        }
        try (Statement s = c.createStatement()) {
            // Last, with the clock's time rather than the transaction's: seeding 100,000 hosts
            // takes minutes, and heartbeats dated from its start would be past the grace on commit.
            s.execute("INSERT INTO host_heartbeats (host_id, seen_at) SELECT id, clock_timestamp() FROM hosts");
        }
        c.commit();
        try (Statement s = c.createStatement()) {
            c.setAutoCommit(true);
            s.execute("VACUUM ANALYZE");
        }
        return out;
    }
}
