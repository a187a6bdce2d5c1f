package gpufleet.faults;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A PostgreSQL cluster of the fault tests' own, made with Debian's postgresql-common tools on a
 * free port: stopping it for real (immediate mode, as a crash) cannot disturb any other test's
 * database. Clusters left by an earlier run that died are dropped first; one whose run still goes
 * on (its JVM's pid is in the cluster's name) is left alone.
 */
final class PgCluster implements AutoCloseable {
    static final String PREFIX = "gpufleetfaults";
    static final String USER = "gpufleet";
    static final String PASSWORD = "gpufleet-faults";

    final String version;
    final String name;
    final int port;

    private PgCluster(String version, String name, int port) {
        this.version = version;
        this.name = name;
        this.port = port;
    }

    static PgCluster create() {
        String version = version();
        dropLeftovers(version);
        int port = Ports.free();
        // The creator's pid in the name: a run beside this one (a long soak) keeps its cluster.
        String name = PREFIX + ProcessHandle.current().pid() + "p" + port;
        run("pg_createcluster", version, name, "-p", Integer.toString(port), "--start", "--",
                "--auth-local=peer", "--auth-host=scram-sha-256");
        PgCluster c = new PgCluster(version, name, port);
        c.psql("CREATE ROLE " + USER + " LOGIN PASSWORD '" + PASSWORD + "'");
        c.psql("CREATE DATABASE gpufleet OWNER " + USER);
        return c;
    }

    String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/gpufleet";
    }

    /** A crash: no checkpoint, no goodbye to the clients. */
    void stopImmediately() {
        run("pg_ctlcluster", version, name, "stop", "-m", "immediate");
    }

    void start() {
        run("pg_ctlcluster", version, name, "start");
    }

    private void psql(String sql) {
        run("runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-p", Integer.toString(port),
                "-d", "postgres", "-c", sql);
    }

    @Override
    public void close() {
        run("pg_dropcluster", version, name, "--stop");
    }

    private static String version() {
        try (var dirs = Files.list(Path.of("/usr/lib/postgresql"))) {
            return dirs.map(p -> p.getFileName().toString()).filter(v -> v.matches("[0-9]+")).max(String::compareTo)
                    .orElseThrow(() -> new IllegalStateException("no PostgreSQL server under /usr/lib/postgresql: run bash dev/services.sh"));
        } catch (IOException e) {
            throw new IllegalStateException("PostgreSQL is needed for the fault tests: run bash dev/services.sh", e);
        }
    }

    private static void dropLeftovers(String version) {
        Path dir = Path.of("/etc/postgresql", version);
        try (var clusters = Files.list(dir)) {
            for (Path p : clusters.toList()) {
                String name = p.getFileName().toString();
                if (name.startsWith(PREFIX) && !ownerAlive(name)) {
                    run("pg_dropcluster", version, name, "--stop");
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + dir, e);
        }
    }

    /** Whether the test JVM that made the cluster still runs (then it is in use, not left over). */
    private static boolean ownerAlive(String name) {
        String rest = name.substring(PREFIX.length());
        int p = rest.indexOf('p');
        if (p <= 0) {
            return false;
        }
        try {
            long pid = Long.parseLong(rest.substring(0, p));
            return pid != ProcessHandle.current().pid() && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private static String run(String... command) {
        return Commands.run(command);
    }
}
