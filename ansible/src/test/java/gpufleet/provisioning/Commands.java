package gpufleet.provisioning;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs the command-line tools the tests drive (docker, ansible-playbook, ansible-lint). */
final class Commands {
    private Commands() {}

    /** What a finished command left: its exit status and its output (stdout and stderr together). */
    record Result(List<String> command, int exitCode, String output) {
        boolean ok() {
            return exitCode == 0;
        }

        /** The last {@code lines} lines, for failure messages. */
        String tail(int lines) {
            String[] all = output.split("\n");
            return String.join("\n", List.of(all).subList(Math.max(0, all.length - lines), all.length));
        }

        @Override
        public String toString() {
            return String.join(" ", command) + " -> exit " + exitCode + "\n" + tail(60);
        }
    }

    static Result run(Path dir, Map<String, String> env, Duration timeout, List<String> command) {
        return run(dir, env, timeout, command, null);
    }

    /** Runs {@code command}; with a {@code log}, its output also goes there as it comes. */
    static Result run(Path dir, Map<String, String> env, Duration timeout, List<String> command, Path log) {
        try {
            Path out = log != null ? log : Files.createTempFile("gpufleet-cmd", ".log");
            Files.createDirectories(out.toAbsolutePath().getParent());
            ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true)
                    .redirectOutput(out.toFile());
            if (dir != null) {
                pb.directory(dir.toFile());
            }
            pb.environment().putAll(env);
            Process p = pb.start();
            if (!p.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                throw new AssertionError(String.join(" ", command) + " did not finish within " + timeout
                        + "; its output so far:\n" + Files.readString(out, StandardCharsets.UTF_8));
            }
            String text = Files.readString(out, StandardCharsets.UTF_8);
            if (log == null) {
                Files.delete(out);
            }
            return new Result(command, p.exitValue(), text);
        } catch (IOException e) {
            throw new AssertionError("cannot run " + String.join(" ", command) + ": " + e.getMessage()
                    + " (install it with: bash dev/services.sh ansible)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while running " + command, e);
        }
    }

    /** Runs a short command and returns its output, failing the test if it fails. */
    static String check(String... command) {
        Result r = run(null, Map.of(), Duration.ofMinutes(2), List.of(command));
        if (!r.ok()) {
            throw new AssertionError(r.toString());
        }
        return r.output().trim();
    }
}
