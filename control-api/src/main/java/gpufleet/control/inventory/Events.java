package gpufleet.control.inventory;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.UUID;

/**
 * Host events that no trigger can write, because the change they record is not a column of
 * the host (a re-key, a registration over an existing name). Written in the caller's
 * transaction, so the event exists exactly when the change does.
 */
final class Events {
    private Events() {}

    static void host(Connection c, UUID hostId, String type, String reason, String message) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO events (kind, object, host_id, type, reason, message) VALUES ('host', ?, ?, ?, ?, ?)""")) {
            ps.setString(1, hostId.toString());
            ps.setObject(2, hostId);
            ps.setString(3, type);
            ps.setString(4, reason);
            ps.setString(5, message);
            ps.executeUpdate();
        }
    }
}
