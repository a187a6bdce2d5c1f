package gpufleet.faults;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One of the programs as its own JVM, from the jar its module built, with its output in a log
 * file under target/faults. {@link #kill9()} is a SIGKILL: no shutdown hook, no last words.
 */
final class Proc implements AutoCloseable {
    private final String name;
    private final List<String> command;
    private final Map<String, String> env;
    private final Path log;
    private Process process;
    /** Where this program's part of the log begins: scenarios that run it under the same name append to one file. */
    private final long from;

    Proc(String name, Path jar, List<String> args, Map<String, String> env) {
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar + " is missing: build it first (mvn -pl faults -am verify builds it)");
        }
        this.name = name;
        this.command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-jar", jar.toString()));
        this.command.addAll(args);
        this.env = Map.copyOf(env);
        this.log = Path.of("target", "faults", name + ".log");
        this.from = log.toFile().length();
    }

    /**
     * The module's jar; with {@code -Dfaults.jars=DIR}, the copy in DIR (dev/chaos.sh runs a long
     * soak from copies, so that a build meanwhile cannot swap a program under a restart).
     */
    static Path jar(String module) {
        String name = module + "-0.1.0-SNAPSHOT-all.jar";
        String copies = System.getProperty("faults.jars");
        return (copies != null ? Path.of(copies, name) : Path.of("..", module, "target", name)).toAbsolutePath().normalize();
    }

    Proc start() {
        try {
            Files.createDirectories(log.getParent());
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
            pb.environment().keySet().removeIf(k -> k.startsWith("GPUFLEET_"));
            pb.environment().putAll(env);
            process = pb.start();
            return this;
        } catch (IOException e) {
            throw new IllegalStateException("cannot start " + name, e);
        }
    }

    boolean alive() {
        return process != null && process.isAlive();
    }

    void kill9() {
        process.destroyForcibly();
        try {
            process.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    String log() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "";
        }
    }

    /** How many lines of its log (since this program was made) hold {@code text}. */
    long lines(String text) {
        String all = log();
        return all.substring((int) Math.min(from, all.length())).lines().filter(l -> l.contains(text)).count();
    }

    @Override
    public void close() {
        if (alive()) {
            process.destroy();
            try {
                if (!process.waitFor(20, TimeUnit.SECONDS)) {
                    kill9();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
