package gpufleet.control.db;

import static org.assertj.core.api.Assertions.assertThat;

import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.TestDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A failover can demote the server a pooled connection is open to, and the connection stays up:
 * every write on it is refused with 25006. The pool drops such a connection at its first refusal,
 * so the next transaction connects again (to the primary, with a multi-host URL). Here every
 * pooled connection is turned read-only, as a demoted server's would be.
 */
class StandbyEvictionIT {
    @Test
    void connectionsRefusingWritesAsOnAStandbyLeaveThePool() throws SQLException {
        try (TestDatabase tdb = TestDatabase.create();
                Database db = new Database(ApiFixture.config(tdb, Map.of("GPUFLEET_DB_POOL_SIZE", "2")), null)) {
            try (Connection c = tdb.connect(); Statement s = c.createStatement()) {
                s.execute("CREATE TABLE probe (x int)");
            }
            List<Connection> pooled = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                pooled.add(db.dataSource().getConnection());
            }
            for (Connection c : pooled) {
                try (Statement s = c.createStatement()) {
                    s.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY");
                }
                c.close();
            }
            List<String> outcomes = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                try {
                    db.tx(c -> {
                        try (Statement s = c.createStatement()) {
                            return s.executeUpdate("INSERT INTO probe VALUES (1)");
                        }
                    });
                    outcomes.add("ok");
                } catch (Database.DatabaseException e) {
                    outcomes.add(e.sqlState() + " " + e.getMessage());
                }
            }
            assertThat(outcomes).as("each read-only connection refuses once and is dropped").endsWith("ok")
                    .filteredOn(o -> !o.equals("ok")).hasSizeLessThanOrEqualTo(2).allMatch(o -> o.startsWith(Database.READ_ONLY + " "));
        }
    }
}
