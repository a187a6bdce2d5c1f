package gpufleet.control.placement;

import static org.assertj.core.api.Assertions.assertThat;

import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Http;
import gpufleet.control.support.Inventories;
import gpufleet.control.support.Pods;
import gpufleet.control.workload.PendingPlacer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The locks placement takes cannot close a cycle of waits with the other writers of a host: the
 * soak found a placement holding a host row FOR UPDATE and waiting for its GPU rows, while an
 * inventory report held those GPU rows and waited for a key-share lock on the host row (the
 * foreign-key check of its host_inventory update); and the pending placer's pass waiting for one
 * host while it held the hosts of its earlier placements.
 */
class PlacementLocksIT {
    @Test
    void aPlacementHoldingAHostLetsForeignKeyChecksOnItThroughButNoOtherPlacement() throws Exception {
        try (ApiFixture fx = ApiFixture.start(); Connection placing = fx.database.connect(); Connection other = fx.database.connect()) {
            fx.seedHost("locks-01");
            placing.setAutoCommit(false);
            UUID held = lockOne(placing, true);
            assertThat(held).as("the placement found the host").isNotNull();

            other.setAutoCommit(false);
            try (Statement s = other.createStatement()) {
                s.execute("SET LOCAL lock_timeout = '2s'");
            }
            try (PreparedStatement ps = other.prepareStatement(
                    "SELECT 1 FROM ONLY hosts x WHERE id = ? FOR KEY SHARE OF x")) { // what a foreign-key check runs
                ps.setObject(1, held);
                try (ResultSet rs = ps.executeQuery()) {
                    assertThat(rs.next()).as("the key-share lock of a foreign-key check is granted while a placement holds the host").isTrue();
                }
            }
            assertThat(lockOne(other, true)).as("a second placement skips the host the first holds").isNull();
            other.rollback();
            placing.rollback();
        }
    }

    @Test
    void aPendingPassNeverWaitsForAHostWhileItHoldsOthers() throws Exception {
        try (ApiFixture fx = ApiFixture.start(Map.of("GPUFLEET_PLACEMENT_RETRY", "1h")); Connection holder = fx.database.connect()) {
            fx.seedOfferings();
            String token = fx.tenant("locks", List.of("seeweb-nvidia-1xa6000"));
            for (String uid : List.of("first", "second")) {
                Http.Response r = fx.http.post("/v1/tenants/locks/workloads", token, Pods.seedPod(uid));
                assertThat(r.json().get("phase").asText()).as(r.toString()).isEqualTo("pending");
            }
            // Two hosts of one A6000 each: the pass places the first pod on one; the other is held
            // by another transaction, and the second pod fits nowhere else.
            for (String name : List.of("locks-a", "locks-b")) {
                ApiFixture.Host h = fx.register(name);
                fx.heartbeat(h);
                fx.report(h, Inventories.report(name, 1, Inventories.A6000, 1, 8000, 64L << 30));
            }
            holder.setAutoCommit(false);
            UUID held = lockOne(holder, true);

            PendingPlacer.Pass pass = fx.api.placer().pass();

            assertThat(pass).as("the pass ran").isNotNull();
            assertThat(pass.placed()).as("the first pod was placed on the free host, and the pass ended without waiting for %s", held)
                    .isEqualTo(1);
            holder.rollback();
        }
    }

    /** Locks a fitting A6000 host as placement does; null when none is free to lock. */
    private static UUID lockOne(Connection c, boolean skipLocked) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(Placer.lockCandidateSql(skipLocked))) {
            ps.setString(1, Inventories.A6000);
            ps.setInt(2, 1);
            ps.setString(3, Inventories.A6000);
            ps.setArray(4, c.createArrayOf("uuid", new Object[0]));
            ps.setLong(5, 0);
            ps.setLong(6, 0);
            ps.setInt(7, 1);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getObject(1, UUID.class) : null;
            }
        }
    }
}
