package gpufleet.control.support;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import java.util.UUID;

/**
 * A fresh, empty PostgreSQL database per test class on the real server that dev/services.sh
 * starts. No server, no test: it fails loudly, it never skips.
 */
public final class TestDatabase implements AutoCloseable {
    static final String HOST = env("GPUFLEET_TEST_PG_HOST", "127.0.0.1");
    static final String PORT = env("GPUFLEET_TEST_PG_PORT", "5432");
    public static final String USER = env("GPUFLEET_TEST_PG_USER", "gpufleet");
    public static final String PASSWORD = env("GPUFLEET_TEST_PG_PASSWORD", "gpufleet");

    private final String name;

    private TestDatabase(String name) {
        this.name = name;
    }

    public static TestDatabase create() {
        String name = "gpufleet_test_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12).toLowerCase(Locale.ROOT);
        admin("CREATE DATABASE " + name);
        return new TestDatabase(name);
    }

    public String url() {
        return "jdbc:postgresql://" + HOST + ":" + PORT + "/" + name;
    }

    public Connection connect() throws SQLException {
        return DriverManager.getConnection(url(), USER, PASSWORD);
    }

    /** Drops the database; retried because autovacuum, which we may not terminate, can hold it briefly. */
    @Override
    public void close() {
        for (int attempt = 1; ; attempt++) {
            try {
                admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
                return;
            } catch (IllegalStateException e) {
                if (attempt >= 20) {
                    throw e;
                }
                try {
                    Thread.sleep(500);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    private static void admin(String sql) {
        String url = "jdbc:postgresql://" + HOST + ":" + PORT + "/postgres";
        try (Connection c = DriverManager.getConnection(url, USER, PASSWORD); Statement s = c.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException("PostgreSQL is needed for this test and is not usable at " + url
                    + " as " + USER + " (" + e.getMessage() + "). Start it with: bash dev/services.sh", e);
        }
    }

    private static String env(String key, String fallback) {
        String v = System.getenv(key);
        return v == null || v.isBlank() ? fallback : v;
    }
}
