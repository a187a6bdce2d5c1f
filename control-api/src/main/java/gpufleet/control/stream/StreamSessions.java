package gpufleet.control.stream;

import gpufleet.control.db.Database;
import java.sql.Array;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The relayed streams open on this replica, each with the token that opened it and the tenant
 * whose pod it reaches. While any is open, the tokens and tenants table is read every
 * {@link #POLL}: a session whose token was revoked (or expired) or whose tenant was disabled is
 * ended with that reason. Reading the table, not a local hook, is what lets a revocation made on
 * another replica end this replica's sessions too.
 */
final class StreamSessions {
    private static final Logger log = LoggerFactory.getLogger(StreamSessions.class);
    static final Duration POLL = Duration.ofSeconds(1);

    /** One open stream; {@code end} stops it and tells its client why. */
    private record Session(UUID tokenId, String tenant, Consumer<String> end) {}

    private final Database db;
    private final Map<Object, Session> open = new ConcurrentHashMap<>();
    private final AtomicLong sweeps = new AtomicLong();
    private Thread watcher; // guarded by this; runs only while a session is open

    StreamSessions(Database db) {
        this.db = db;
    }

    /** Registers an open stream; returns the handle to {@link #closed} it with. */
    Object opened(UUID tokenId, String tenant, Consumer<String> end) {
        Object handle = new Object();
        open.put(handle, new Session(tokenId, tenant, end));
        synchronized (this) {
            if (watcher == null) {
                watcher = new Thread(this::watch, "stream-sessions");
                watcher.setDaemon(true);
                watcher.start();
            }
        }
        return handle;
    }

    void closed(Object handle) {
        if (handle != null) {
            open.remove(handle);
        }
    }

    int openCount() {
        return open.size();
    }

    /** Sweeps done so far: tests wait for one to pass instead of sleeping. */
    long sweeps() {
        return sweeps.get();
    }

    private void watch() {
        while (true) {
            synchronized (this) {
                if (open.isEmpty()) {
                    watcher = null;
                    return;
                }
                try {
                    wait(POLL.toMillis());
                } catch (InterruptedException e) {
                    watcher = null;
                    return;
                }
            }
            try {
                sweep();
            } catch (RuntimeException e) {
                // The database is away: sessions stay until it answers (a stream is not cut for an outage).
                log.warn("cannot check open streams for revoked tokens: {}", e.getMessage());
            }
        }
    }

    /** Ends every session whose token is revoked or expired, or whose tenant is disabled. */
    void sweep() {
        List<Session> now = List.copyOf(open.values());
        if (!now.isEmpty()) {
            Map<UUID, String> deadTokens = new HashMap<>();
            Set<String> disabled = new HashSet<>();
            db.read(c -> {
                try (PreparedStatement ps = c.prepareStatement("""
                        SELECT id, revoked_at IS NOT NULL FROM tokens
                        WHERE id = ANY(?) AND (revoked_at IS NOT NULL OR expires_at < now())""")) {
                    Array ids = c.createArrayOf("uuid", now.stream().map(Session::tokenId).distinct().toArray());
                    ps.setArray(1, ids);
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            UUID id = rs.getObject(1, UUID.class);
                            deadTokens.put(id, "token " + id + (rs.getBoolean(2) ? " was revoked" : " expired"));
                        }
                    }
                }
                try (PreparedStatement ps = c.prepareStatement(
                        "SELECT name FROM tenants WHERE name = ANY(?) AND disabled_at IS NOT NULL")) {
                    ps.setArray(1, c.createArrayOf("text", now.stream().map(Session::tenant).distinct().toArray()));
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            disabled.add(rs.getString(1));
                        }
                    }
                }
                return null;
            });
            open.forEach((handle, s) -> {
                String why = deadTokens.containsKey(s.tokenId()) ? deadTokens.get(s.tokenId())
                        : disabled.contains(s.tenant()) ? "tenant " + s.tenant() + " was disabled" : null;
                if (why != null && open.remove(handle) != null) {
                    log.info("ending a stream into tenant {}: {}", s.tenant(), why);
                    s.end().accept(why);
                }
            });
        }
        sweeps.incrementAndGet();
    }
}
