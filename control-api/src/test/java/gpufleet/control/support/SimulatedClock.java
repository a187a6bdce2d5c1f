package gpufleet.control.support;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;

/**
 * The metering's clock, set by the test: V27's usage_clock() (the database's transaction time in
 * production) replaced, in this test's own database, by one that reads a time the test sets.
 * Every control-api replica on the database sees the same simulated time, as they see one
 * database clock in production.
 */
public final class SimulatedClock {
    private final TestDatabase db;

    private SimulatedClock(TestDatabase db) {
        this.db = db;
    }

    /** Replaces usage_clock() (after the control-api migrated the database) and sets it to {@code start}. */
    public static SimulatedClock install(TestDatabase db, Instant start) {
        try (Connection c = db.connect(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE simulated_clock (now timestamptz NOT NULL)");
            s.execute("INSERT INTO simulated_clock VALUES ('" + start + "')");
            s.execute("CREATE OR REPLACE FUNCTION usage_clock() RETURNS timestamptz LANGUAGE sql STABLE"
                    + " AS 'SELECT now FROM simulated_clock'");
        } catch (SQLException e) {
            throw new IllegalStateException("cannot install the simulated clock", e);
        }
        return new SimulatedClock(db);
    }

    public void set(Instant now) {
        sql("UPDATE simulated_clock SET now = ?", now);
    }

    /** The host's last heartbeat, as if it had stopped beating at {@code at}. */
    public void lastHeartbeat(String hostId, Instant at) {
        sql("UPDATE host_heartbeats SET seen_at = ? WHERE host_id = '" + hostId + "'::uuid", at);
    }

    private void sql(String statement, Instant at) {
        try (Connection c = db.connect(); PreparedStatement ps = c.prepareStatement(statement)) {
            ps.setObject(1, OffsetDateTime.ofInstant(at, ZoneOffset.UTC));
            if (ps.executeUpdate() != 1) {
                throw new IllegalStateException(statement + " changed no row");
            }
        } catch (SQLException e) {
            throw new IllegalStateException(statement, e);
        }
    }
}
