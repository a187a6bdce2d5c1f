package gpufleet.control.workload;

import gpufleet.common.Json;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.control.config.SealKey;
import gpufleet.control.db.Database;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Workloads stored before secrets were sealed (migration V15) hold them in clear in their spec.
 * At start, each replica seals those of live workloads and empties those of ended ones, a batch
 * per transaction; rows another replica is doing are skipped, and each row is done once.
 */
public final class LegacySecrets {
    private static final Logger log = LoggerFactory.getLogger(LegacySecrets.class);
    private static final int BATCH = 100;

    private LegacySecrets() {}

    /** Returns how many rows this call sealed or emptied. */
    public static int sealAll(Database db, SealKey key) {
        SpecSecrets secrets = new SpecSecrets(key);
        int total = 0;
        for (UUID last = new UUID(0, 0); last != null; ) {
            UUID from = last;
            int[] done = new int[1];
            last = db.tx(c -> batch(c, secrets, from, done));
            total += done[0];
        }
        if (total > 0) {
            log.info("sealed or erased the secrets of {} workload(s) stored before sealing", total);
        }
        return total;
    }

    /** One batch after {@code from} (by id); returns the last id seen, null when there were none. */
    private static UUID batch(Connection c, SpecSecrets secrets, UUID from, int[] done) throws SQLException {
        UUID last = null;
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT id, tenant, spec::text, deleted_at IS NOT NULL FROM workloads
                WHERE NOT secrets_sealed AND id > ? ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED""");
             PreparedStatement up = c.prepareStatement("""
                     UPDATE workloads SET spec = ?::jsonb, sealed_secrets = ?, secrets_sealed = true WHERE id = ?""")) {
            ps.setObject(1, from);
            ps.setInt(2, BATCH);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    last = rs.getObject(1, UUID.class);
                    SpecSecrets.Split split = split(secrets, last, rs.getString(2), rs.getString(3));
                    if (split == null) {
                        continue;
                    }
                    up.setString(1, Json.mapper().writeValueAsString(split.clear()));
                    // An ended workload's secrets are erased, not sealed (the V15 trigger would drop them anyway).
                    up.setBytes(2, rs.getBoolean(4) ? null : split.sealed());
                    up.setObject(3, last);
                    up.addBatch();
                    done[0]++;
                }
            }
            up.executeBatch();
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        return last;
    }

    private static SpecSecrets.Split split(SpecSecrets secrets, UUID id, String tenant, String json) {
        try {
            return secrets.split(tenant, Json.mapper().readValue(json, WorkloadSpec.class));
        } catch (IOException | RuntimeException e) {
            // One unreadable row must not keep the control-api from starting; it stays as it was. The
            // parser's message is left out: it may quote the stored text, secrets included.
            log.warn("workload {}: stored spec is unreadable ({}); its secrets are left as they are", id, e.getClass().getSimpleName());
            return null;
        }
    }
}
