package gpufleet.bench;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.UUID;

/**
 * A fleet as placement meets it after months of use: about 60% of the GPUs held by workloads of
 * 1, 2, 4 and 8 GPUs scattered over the hosts (written as production writes them: a workload row,
 * an allocation per GPU, the GPU's flag; the trigger of V22 keeps host_usage), some hosts
 * cordoned. Nothing is analyzed: statistics are left to autovacuum.
 */
final class FragmentedFleet {
    /** How many of a host's 8 GPUs are held: weights for 0..8 (mean 4.78 of 8, 10% of hosts whole). */
    private static final int[] HELD_WEIGHTS = {10, 5, 7, 9, 11, 12, 13, 14, 19};
    static final int SEED_TENANTS = 50;

    private FragmentedFleet() {}

    record Fill(long gpus, long held, long workloads, long cordoned) {}

    /** Fills the seeded fleet's GPUs; {@code seed} makes the pattern repeatable. */
    static Fill fill(Connection c, long seed, double cordonedShare) throws SQLException {
        Random random = new Random(seed);
        c.setAutoCommit(false);
        try (Statement s = c.createStatement()) {
            s.execute("""
                    INSERT INTO tenants (name) SELECT 'seed-' || lpad(i::text, 2, '0') FROM generate_series(0, %d) i
                    ON CONFLICT DO NOTHING""".formatted(SEED_TENANTS - 1));
        }
        List<Object> ids = new ArrayList<>();
        List<Object> tenants = new ArrayList<>();
        List<Object> hosts = new ArrayList<>();
        List<Object> sizes = new ArrayList<>();
        List<Object> allocGpu = new ArrayList<>();
        List<Object> allocOwner = new ArrayList<>();
        List<Object> allocTenant = new ArrayList<>();
        long gpus = 0;
        long workloads = 0;
        try (Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT host_id, array_agg(uuid ORDER BY idx) FROM gpus GROUP BY host_id ORDER BY host_id")) {
            while (rs.next()) {
                UUID host = rs.getObject(1, UUID.class);
                List<String> free = new ArrayList<>(List.of((String[]) rs.getArray(2).getArray()));
                gpus += free.size();
                Collections.shuffle(free, random);
                int held = Math.min(free.size(), pick(random));
                while (held > 0) {
                    int size = 8;
                    while (size > held || (size > 1 && random.nextInt(3) > 0)) {
                        size /= 2;
                    }
                    UUID id = new UUID(random.nextLong(), random.nextLong());
                    String tenant = "seed-%02d".formatted(random.nextInt(SEED_TENANTS));
                    ids.add(id);
                    tenants.add(tenant);
                    hosts.add(host);
                    sizes.add(size);
                    for (int k = 0; k < size; k++) {
                        allocGpu.add(free.remove(free.size() - 1));
                        allocOwner.add(id);
                        allocTenant.add(tenant);
                    }
                    held -= size;
                    workloads++;
                }
            }
        }
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO workloads (id, tenant, pod_uid, namespace, name, offering, spec, gpu_count, cpu_millis, memory_bytes,
                                       host_id, phase)
                SELECT x.id, x.tenant, x.id::text, 'seed', x.id::text, 'seeded', '{}', x.n, 1000 * x.n, 4294967296 * x.n, x.host, 'running'
                FROM unnest(?::uuid[], ?::text[], ?::uuid[], ?::int[]) AS x (id, tenant, host, n)""")) {
            ps.setArray(1, c.createArrayOf("uuid", ids.toArray()));
            ps.setArray(2, c.createArrayOf("text", tenants.toArray()));
            ps.setArray(3, c.createArrayOf("uuid", hosts.toArray()));
            ps.setArray(4, c.createArrayOf("int4", sizes.toArray()));
            ps.executeUpdate();
        }
        try (PreparedStatement ps = c.prepareStatement("""
                WITH a AS (INSERT INTO gpu_allocations (gpu_uuid, tenant, workload_id, container)
                           SELECT x.g, x.t, x.w, 'main' FROM unnest(?::text[], ?::text[], ?::uuid[]) AS x (g, t, w))
                UPDATE gpus SET allocated = true WHERE uuid = ANY (?::text[])""")) {
            ps.setArray(1, c.createArrayOf("text", allocGpu.toArray()));
            ps.setArray(2, c.createArrayOf("text", allocTenant.toArray()));
            ps.setArray(3, c.createArrayOf("uuid", allocOwner.toArray()));
            ps.setArray(4, c.createArrayOf("text", allocGpu.toArray()));
            ps.executeUpdate();
        }
        long cordoned;
        try (PreparedStatement ps = c.prepareStatement("UPDATE hosts SET cordoned = true WHERE abs(hashtext(name || ?)) % 1000 < ?")) {
            ps.setString(1, Long.toString(seed));
            ps.setInt(2, (int) Math.round(cordonedShare * 1000));
            cordoned = ps.executeUpdate();
        }
        c.commit();
        c.setAutoCommit(true);
        return new Fill(gpus, allocGpu.size(), workloads, cordoned);
    }

    private static int pick(Random random) {
        int r = random.nextInt(100);
        for (int k = 0; k < HELD_WEIGHTS.length; k++) {
            r -= HELD_WEIGHTS[k];
            if (r < 0) {
                return k;
            }
        }
        return 8;
    }
}
