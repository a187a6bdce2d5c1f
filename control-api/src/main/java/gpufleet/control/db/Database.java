package gpufleet.control.db;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.SQLExceptionOverride;
import gpufleet.control.config.ControlApiConfig;
import io.micrometer.core.instrument.MeterRegistry;
import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;

/** The PostgreSQL pool, the schema (Flyway, from db/migrations) and a transaction helper. */
public final class Database implements AutoCloseable {
    private final HikariDataSource pool;
    private final Flyway flyway;

    public Database(ControlApiConfig config, MeterRegistry metrics) {
        HikariConfig hc = new HikariConfig();
        hc.setJdbcUrl(config.dbUrl());
        hc.setUsername(config.dbUser());
        hc.setPassword(config.dbPassword());
        hc.setMaximumPoolSize(config.dbPoolSize());
        hc.setPoolName("control-api");
        hc.setConnectionTimeout(5_000);
        hc.setInitializationFailTimeout(10_000);
        // A server switched off answers nothing: without these a statement on a connection to it
        // would wait for TCP to give up (many minutes), and each new connection would try it for
        // the driver's default 10 s before the next server of a multi-host URL. Settings in
        // GPUFLEET_DB_URL take precedence (the driver reads the URL last).
        hc.addDataSourceProperty("connectTimeout", "3");
        hc.addDataSourceProperty("socketTimeout", "30");
        hc.addDataSourceProperty("tcpKeepAlive", "true");
        hc.setExceptionOverride(new StandbyEviction());
        if (metrics != null) {
            hc.setMetricRegistry(metrics);
        }
        this.pool = new HikariDataSource(hc);
        this.flyway = Flyway.configure()
                .dataSource(pool)
                .locations("classpath:db/migration")
                .failOnMissingLocations(true)
                .load();
    }

    /** Applies pending migrations; several replicas starting together serialize on Flyway's lock. */
    public MigrateResult migrate() {
        return flyway.migrate();
    }

    /** True when the database answers and no migration is pending. */
    public boolean ready() {
        try (Connection c = pool.getConnection()) {
            return c.isValid(2) && flyway.info().pending().length == 0;
        } catch (SQLException | RuntimeException e) {
            return false;
        }
    }

    public DataSource dataSource() {
        return pool;
    }

    public <T> T tx(SqlWork<T> work) {
        try (Connection c = pool.getConnection()) {
            c.setAutoCommit(false);
            T result;
            try {
                result = work.run(c);
            } catch (SQLException | RuntimeException e) {
                rollback(c, e);
                throw e;
            }
            try {
                c.commit();
            } catch (SQLException e) {
                rollback(c, e);
                throw new DatabaseException(e, true);
            }
            return result;
        } catch (SQLException e) {
            throw new DatabaseException(e);
        }
    }

    /**
     * Rolls back after {@code failure}. A connection that broke (or that the pool dropped at the
     * failure) cannot roll back; that second failure must not hide the first, whose SQLState
     * decides the answer (a 409, a 503).
     */
    private static void rollback(Connection c, Exception failure) {
        try {
            c.rollback();
        } catch (SQLException e) {
            failure.addSuppressed(e);
        }
    }

    /**
     * One statement or a read: autocommit, no explicit transaction. A statement that loses its
     * connection may have committed, as a commit may ({@link DatabaseException#outcomeUnknown}).
     */
    public <T> T read(SqlWork<T> work) {
        Connection connection;
        try {
            connection = pool.getConnection();
        } catch (SQLException e) {
            throw new DatabaseException(e); // no connection: nothing was sent
        }
        try (Connection c = connection) {
            return work.run(c);
        } catch (SQLException e) {
            throw new DatabaseException(e, true);
        }
    }

    @Override
    public void close() {
        pool.close();
    }

    @FunctionalInterface
    public interface SqlWork<T> {
        T run(Connection connection) throws SQLException;
    }

    /**
     * A pooled connection whose server has become a standby (a failover demoted it while the
     * connection stayed up) refuses every write with 25006; the pool drops it, so the next request
     * connects again, to the primary a multi-host URL with targetServerType=primary finds.
     */
    static final class StandbyEviction implements SQLExceptionOverride {
        // No @Override: within this interface the name is its enum's.
        public SQLExceptionOverride.Override adjudicate(SQLException e) {
            return READ_ONLY.equals(e.getSQLState()) ? SQLExceptionOverride.Override.MUST_EVICT : SQLExceptionOverride.Override.CONTINUE_EVICT;
        }
    }

    /** SQLState read_only_sql_transaction: a write on a standby. */
    static final String READ_ONLY = "25006";

    /** A database failure: a 503 for the caller, logged once by the mapper. */
    public static final class DatabaseException extends RuntimeException {
        private final boolean atCommit;

        public DatabaseException(SQLException cause) {
            this(cause, false);
        }

        public DatabaseException(SQLException cause, boolean atCommit) {
            super("database error: " + cause.getMessage(), cause);
            this.atCommit = atCommit;
        }

        /**
         * True when the commit itself failed for want of an answer: the server may have committed
         * before the connection went, so the caller cannot be told that nothing changed.
         */
        public boolean outcomeUnknown() {
            String state = sqlState();
            boolean noAnswer = state == null || state.startsWith("08") || state.startsWith("57P");
            return atCommit && noAnswer;
        }

        public String sqlState() {
            return ((SQLException) getCause()).getSQLState();
        }
    }
}
