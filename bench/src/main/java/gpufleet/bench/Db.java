package gpufleet.bench;

import gpufleet.control.config.SealKey;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;

/** The local PostgreSQL the benchmarks use (the one dev/services.sh starts), and scratch databases on it. */
record Db(String host, int port, String user, String password) {
    static Db fromEnvironment() {
        return new Db(env("GPUFLEET_BENCH_PG_HOST", "127.0.0.1"), Integer.parseInt(env("GPUFLEET_BENCH_PG_PORT", "5432")),
                env("GPUFLEET_BENCH_PG_USER", "gpufleet"), env("GPUFLEET_BENCH_PG_PASSWORD", "gpufleet"));
    }

    String url(String database) {
        return "jdbc:postgresql://" + host + ":" + port + "/" + database;
    }

    Connection connect(String database) throws SQLException {
        return DriverManager.getConnection(url(database), user, password);
    }

    /** Drops and creates {@code name}: every run starts from an empty database. */
    void recreate(String name) throws SQLException {
        drop(name);
        try (Connection c = connect("postgres"); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + name);
        }
    }

    /** Drops {@code name}; retried because autovacuum, which we may not terminate, can hold it briefly. */
    void drop(String name) throws SQLException {
        for (int attempt = 1; ; attempt++) {
            try (Connection c = connect("postgres"); Statement s = c.createStatement()) {
                s.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
                return;
            } catch (SQLException e) {
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

    /**
     * Writes out what a seed left in memory before a measurement: a fleet written just before
     * would otherwise be checkpointed during the measurement, as a running fleet's is not (its
     * rows were written long before). CHECKPOINT needs a superuser or pg_checkpoint: tried as the
     * bench's user, then as the local postgres account; otherwise the bench says so and waits.
     */
    void checkpoint() throws IOException, InterruptedException {
        long t0 = System.nanoTime();
        try (Connection c = connect("postgres"); Statement s = c.createStatement()) {
            s.execute("CHECKPOINT");
        } catch (SQLException e) {
            Process p = new ProcessBuilder("runuser", "-u", "postgres", "--", "psql", "-qXc", "CHECKPOINT")
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).trim();
            if (p.waitFor() != 0) {
                System.out.println("cannot CHECKPOINT (" + e.getMessage() + "; " + out + "): waiting 60 s for the seed's writes instead");
                Thread.sleep(60_000);
                return;
            }
        }
        System.out.printf("checkpoint after the seed: %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }

    /** A throwaway sealing key for the scratch databases' control-api: each run starts empty, so none is kept. */
    static Path sealKeyFile() {
        try {
            Path file = Files.createTempFile("gpufleet-bench-seal", ".key");
            file.toFile().deleteOnExit();
            return SealKey.writeNew(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot make a sealing key file", e);
        }
    }

    private static String env(String key, String fallback) {
        String v = System.getenv(key);
        return v == null || v.isBlank() ? fallback : v;
    }
}
