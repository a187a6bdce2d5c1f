package gpufleet.control.db;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
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
            try {
                T result = work.run(c);
                c.commit();
                return result;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new DatabaseException(e);
        }
    }

    /** One statement or a read: autocommit, no explicit transaction. */
    public <T> T read(SqlWork<T> work) {
        try (Connection c = pool.getConnection()) {
            return work.run(c);
        } catch (SQLException e) {
            throw new DatabaseException(e);
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

    /** A database failure: a 503 for the caller (nothing was changed), logged once by the mapper. */
    public static final class DatabaseException extends RuntimeException {
        public DatabaseException(SQLException cause) {
            super("database error: " + cause.getMessage(), cause);
        }

        public String sqlState() {
            return ((SQLException) getCause()).getSQLState();
        }
    }
}
