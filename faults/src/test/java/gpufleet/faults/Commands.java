package gpufleet.faults;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The machine's own tools (docker, pg_ctlcluster, ip, …), run as the fault tests need them. */
final class Commands {
    private Commands() {}

    /** Runs the command; its output (stdout and stderr), or a failure naming the command and what it said. */
    static String run(String... command) {
        return run(true, command);
    }

    /** Its standard output only, whatever its exit status (for a listing that may name things gone meanwhile). */
    static String lenient(List<String> command) {
        return run(false, command.toArray(String[]::new));
    }

    private static String run(boolean strict, String... command) {
        try {
            ProcessBuilder pb = new ProcessBuilder(command);
            if (strict) {
                pb.redirectErrorStream(true);
            } else {
                pb.redirectError(ProcessBuilder.Redirect.DISCARD);
            }
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes());
            boolean ended = p.waitFor(120, TimeUnit.SECONDS);
            if (strict && (!ended || p.exitValue() != 0)) {
                throw new IllegalStateException(String.join(" ", command) + " failed: " + out.strip());
            }
            return out;
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + command[0] + " (the fault tests need it on this machine)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted running " + command[0], e);
        }
    }
}
