package gpufleet.control.auth;

import gpufleet.control.config.ControlApiConfig;
import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every live host credential, in memory, so that a heartbeat proves who it is without a database
 * read: a host beats every 10 s, so a cache of recent checks would never hold its entry, and at
 * 100,000 hosts the read would be most of a heartbeat's cost.
 *
 * <p>It is a copy of the {@code tokens} table's host rows, kept current by the database: a
 * trigger notifies channel {@code gpufleet_tokens} with the token id on every insert, update or
 * delete of a host credential, on whichever replica made it, and this replica re-reads that row.
 * The copy answers only while it is known to be current: from a snapshot read after LISTEN was
 * in place (so no change falls between the two) until the listening connection fails or stops
 * answering its check every {@link #PING} (a read timeout bounds a hung connection). Otherwise
 * {@link #lookup} says {@code null} and the caller reads the database, as before. So a revocation
 * reaches every replica as fast as a notification travels, and at worst within the read timeout
 * plus a ping; a replica that cannot tell is never trusted. See docs/security.md.
 */
public final class HostCredentials implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HostCredentials.class);
    static final String CHANNEL = "gpufleet_tokens";
    static final Duration PING = Duration.ofSeconds(2);
    private static final int READ_TIMEOUT_SECONDS = 5;
    private static final String COLUMNS = "id, secret_hash, host_id, expires_at, revoked_at, role";

    private record Entry(Principal principal, long expiresAtMillis) {}

    private final ControlApiConfig config;
    private final Map<ByteBuffer, Entry> byHash = new ConcurrentHashMap<>();
    private final Map<UUID, ByteBuffer> byId = new ConcurrentHashMap<>();
    private final Thread listener;
    private volatile boolean current;
    private volatile boolean running = true;

    public HostCredentials(ControlApiConfig config) {
        this.config = config;
        this.listener = new Thread(this::listen, "host-credentials");
        this.listener.setDaemon(true);
        this.listener.start();
    }

    /**
     * The host behind a credential's hash, if this copy is current and holds it live; null when the
     * caller must ask the database (not a host credential, revoked, expired, or the copy is not
     * known to be current).
     */
    Principal lookup(byte[] hash) {
        if (!current) {
            return null;
        }
        Entry e = byHash.get(ByteBuffer.wrap(hash));
        if (e == null || (e.expiresAtMillis() != 0 && System.currentTimeMillis() >= e.expiresAtMillis())) {
            return null;
        }
        return e.principal();
    }

    /** True once the copy is loaded and listening (tests and the health check wait for it). */
    public boolean current() {
        return current;
    }

    /** How many live host credentials the copy holds. */
    public int size() {
        return byHash.size();
    }

    /** Drops a credential at once on this replica (its own revocation need not wait for the notification). */
    void forget(UUID tokenId) {
        ByteBuffer hash = byId.remove(tokenId);
        if (hash != null) {
            byHash.remove(hash);
        }
    }

    /** Drops every credential of a host at once on this replica. */
    void forgetHost(UUID hostId) {
        byHash.values().removeIf(e -> {
            if (hostId.equals(e.principal().hostId())) {
                byId.remove(e.principal().tokenId());
                return true;
            }
            return false;
        });
    }

    private void listen() {
        long lostAt = 0;
        while (running) {
            try (Connection c = connect(); Statement s = c.createStatement()) {
                s.execute("LISTEN " + CHANNEL);
                int loaded = snapshot(c);
                current = true;
                if (lostAt != 0) {
                    log.info("host credentials current again after {} s: {} live", (System.nanoTime() - lostAt) / 1_000_000_000, loaded);
                    lostAt = 0;
                } else {
                    log.info("host credentials loaded: {} live; heartbeats check them in memory", loaded);
                }
                PGConnection pg = c.unwrap(PGConnection.class);
                while (running) {
                    PGNotification[] batch = pg.getNotifications((int) PING.toMillis());
                    if (batch == null || batch.length == 0) {
                        s.execute("SELECT 1"); // the connection still answers: nothing was missed
                        continue;
                    }
                    Set<UUID> ids = new HashSet<>();
                    for (PGNotification n : batch) {
                        try {
                            ids.add(UUID.fromString(n.getParameter()));
                        } catch (IllegalArgumentException e) {
                            log.warn("ignoring notification on {} with payload '{}'", CHANNEL, n.getParameter());
                        }
                    }
                    reread(c, ids);
                }
            } catch (SQLException | RuntimeException e) {
                current = false;
                if (!running) {
                    return;
                }
                if (lostAt == 0) {
                    lostAt = System.nanoTime();
                    log.warn("host credentials: listening connection lost ({}); heartbeats read the database until it is back",
                            e.getMessage());
                }
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    private Connection connect() throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", config.dbUser());
        if (config.dbPassword() != null) {
            p.setProperty("password", config.dbPassword());
        }
        p.setProperty("socketTimeout", Integer.toString(READ_TIMEOUT_SECONDS));
        p.setProperty("connectTimeout", "3"); // a switched-off server of a multi-host URL is passed over quickly
        p.setProperty("tcpKeepAlive", "true");
        p.setProperty("ApplicationName", "gpufleet host credentials");
        return DriverManager.getConnection(config.dbUrl(), p);
    }

    private int snapshot(Connection c) throws SQLException {
        byHash.clear();
        byId.clear();
        try (Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT " + COLUMNS + " FROM tokens WHERE role = 'host' AND revoked_at IS NULL")) {
            while (rs.next()) {
                apply(rs);
            }
        }
        return byHash.size();
    }

    private void reread(Connection c, Set<UUID> ids) throws SQLException {
        ids.forEach(this::forget);
        try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM tokens WHERE id = ANY (?)")) {
            ps.setArray(1, c.createArrayOf("uuid", ids.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    apply(rs);
                }
            }
        }
    }

    /** One row: kept if it is a live host credential, otherwise left out. */
    private void apply(ResultSet rs) throws SQLException {
        if (rs.getTimestamp(5) != null || !"host".equals(rs.getString(6))) {
            return;
        }
        UUID id = rs.getObject(1, UUID.class);
        Timestamp expires = rs.getTimestamp(4);
        ByteBuffer hash = ByteBuffer.wrap(rs.getBytes(2));
        Principal p = new Principal(id, Role.HOST, null, rs.getObject(3, UUID.class));
        byHash.put(hash, new Entry(p, expires == null ? 0 : Math.max(1, expires.getTime())));
        byId.put(id, hash);
    }

    @Override
    public void close() {
        running = false;
        current = false;
        listener.interrupt();
    }
}
