package gpufleet.control.workload;

import gpufleet.control.config.ControlApiConfig;
import gpufleet.control.db.Database;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wakes long-polling hosts when their desired workloads change, whichever replica changed them:
 * one LISTEN connection per replica on channel gpufleet_host, payload = host id.
 */
public final class Wakeups implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Wakeups.class);

    private final ControlApiConfig config;
    private final Database db;
    private final Map<UUID, List<CompletableFuture<Void>>> waiters = new ConcurrentHashMap<>();
    private final LinkedBlockingQueue<UUID> outbox = new LinkedBlockingQueue<>();
    private final Thread listener;
    private final Thread sender;
    private volatile boolean running = true;

    public Wakeups(ControlApiConfig config, Database db) {
        this.config = config;
        this.db = db;
        this.listener = new Thread(this::listen, "host-wakeups");
        this.listener.setDaemon(true);
        this.listener.start();
        this.sender = new Thread(this::send, "host-notify");
        this.sender.setDaemon(true);
        this.sender.start();
    }

    /**
     * A host's desired workloads changed (after the commit): wake its pollers here at once, and
     * the other replicas' through one batched NOTIFY.
     */
    public void changed(UUID host) {
        wake(host);
        outbox.add(host);
    }

    private void send() {
        List<UUID> batch = new ArrayList<>();
        while (running) {
            try {
                UUID first = outbox.poll(500, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                outbox.drainTo(batch);
                UUID[] ids = batch.stream().distinct().toArray(UUID[]::new);
                db.read(c -> {
                    try (PreparedStatement ps = c.prepareStatement(
                            "SELECT pg_notify('gpufleet_host', h::text) FROM unnest(?::uuid[]) h")) {
                        ps.setArray(1, c.createArrayOf("uuid", ids));
                        ps.execute();
                    }
                    return null;
                });
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                // Pollers on other replicas wake at their timeout and re-read: nothing is lost.
                log.warn("cannot notify other replicas ({}); their hosts will see the change at their next poll", e.getMessage());
            } finally {
                batch.clear();
            }
        }
    }

    /** Completes on the next change for {@code host} (the caller adds its own timeout). */
    public CompletableFuture<Void> next(UUID host) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        waiters.computeIfAbsent(host, h -> new CopyOnWriteArrayList<>()).add(f);
        f.whenComplete((v, e) -> {
            List<CompletableFuture<Void>> list = waiters.get(host);
            if (list != null) {
                list.remove(f);
            }
        });
        return f;
    }

    /** How many long polls wait for {@code host}'s next change here (what a test waits for before changing it). */
    public int waiting(UUID host) {
        List<CompletableFuture<Void>> list = waiters.get(host);
        return list == null ? 0 : list.size();
    }

    private void wake(UUID host) {
        List<CompletableFuture<Void>> list = waiters.remove(host);
        if (list != null) {
            list.forEach(f -> f.complete(null));
        }
    }

    /** How often an idle LISTEN connection checks that its server still answers. */
    private static final long PING_NANOS = 2_000_000_000L;

    /** A connection that gives up on a server that stopped answering (a read timeout) instead of waiting forever. */
    private Connection connect() throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", config.dbUser());
        if (config.dbPassword() != null) {
            p.setProperty("password", config.dbPassword());
        }
        p.setProperty("connectTimeout", "3");
        p.setProperty("socketTimeout", "5");
        p.setProperty("tcpKeepAlive", "true");
        p.setProperty("ApplicationName", "gpufleet wakeups");
        return DriverManager.getConnection(config.dbUrl(), p);
    }

    private void listen() {
        long lostAt = 0; // when the connection was lost, 0 while it is up: an outage is told once, then its end
        int attempts = 0;
        while (running) {
            try (Connection c = connect(); Statement s = c.createStatement()) {
                s.execute("LISTEN gpufleet_host");
                if (lostAt != 0) {
                    log.info("LISTEN connection back after {} s ({} attempt(s))", (System.nanoTime() - lostAt) / 1_000_000_000, attempts);
                    lostAt = 0;
                    attempts = 0;
                }
                // After a reconnect a change may have been missed: wake everyone to re-read.
                waiters.keySet().forEach(this::wake);
                PGConnection pg = c.unwrap(PGConnection.class);
                long checked = System.nanoTime();
                while (running) {
                    PGNotification[] batch = pg.getNotifications(1000);
                    if (batch == null || batch.length == 0) {
                        // Waiting for notifications sends nothing, so a server switched off (which
                        // answers nothing, not even a reset) would never be noticed: ask it something.
                        if (System.nanoTime() - checked > PING_NANOS) {
                            s.execute("SELECT 1");
                            checked = System.nanoTime();
                        }
                    } else {
                        for (PGNotification n : batch) {
                            try {
                                wake(UUID.fromString(n.getParameter()));
                            } catch (IllegalArgumentException e) {
                                log.warn("ignoring notification with payload '{}'", n.getParameter());
                            }
                        }
                    }
                }
            } catch (SQLException e) {
                if (running) {
                    attempts++;
                    if (lostAt == 0) {
                        lostAt = System.nanoTime();
                        log.warn("LISTEN connection lost ({}); reconnecting every second, quietly until it is back", e.getMessage());
                    }
                    try {
                        Thread.sleep(1000);
                    } catch (InterruptedException ie) {
                        return;
                    }
                }
            }
        }
    }

    @Override
    public void close() {
        running = false;
        listener.interrupt();
        sender.interrupt();
        waiters.values().forEach(list -> list.forEach(f -> f.complete(null)));
    }
}
