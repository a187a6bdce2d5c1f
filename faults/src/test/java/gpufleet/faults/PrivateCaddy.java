package gpufleet.faults;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A Caddy of the fault tests' own: its admin API on a free loopback port, its state (the local CA,
 * the autosaved configuration) in its own directory. Killing it cannot disturb the machine's
 * Caddy, which dev/services.sh runs for the other tests. Each start is from the bare start-up
 * configuration (the admin API alone), as a Caddy restarted by systemd or by hand comes back:
 * every route is the edge sync's to load again.
 */
final class PrivateCaddy implements AutoCloseable {
    final Path dir;
    final int adminPort = Ports.free();
    private Process caddy;

    PrivateCaddy(Path dir) throws IOException {
        this.dir = dir;
        Files.createDirectories(dir.resolve("data"));
        Files.createDirectories(dir.resolve("config"));
        Files.writeString(dir.resolve("caddy.json"), """
                {"admin": {"listen": "127.0.0.1:%d"}}
                """.formatted(adminPort));
        start();
    }

    String adminUrl() {
        return "http://127.0.0.1:" + adminPort;
    }

    /** Starts it and returns once its admin API answers. */
    void start() throws IOException {
        ProcessBuilder pb = new ProcessBuilder("caddy", "run", "--config", dir.resolve("caddy.json").toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("caddy.log").toFile()));
        pb.environment().put("XDG_DATA_HOME", dir.resolve("data").toString());
        pb.environment().put("XDG_CONFIG_HOME", dir.resolve("config").toString());
        caddy = pb.start();
        for (int i = 0; i < 300; i++) {
            try {
                Commands.run("curl", "-fsS", "-o", "/dev/null", "--max-time", "2", adminUrl() + "/config/");
                return;
            } catch (IllegalStateException notYet) {
                sleep(100);
            }
        }
        throw new IllegalStateException("the private Caddy did not start; see " + dir.resolve("caddy.log"));
    }

    /** A crash: SIGKILL, no clean shutdown, nothing saved. */
    void kill9() {
        caddy.destroyForcibly();
        try {
            caddy.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        if (caddy != null && caddy.isAlive()) {
            kill9();
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
