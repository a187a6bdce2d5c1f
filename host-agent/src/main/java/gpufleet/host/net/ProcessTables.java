package gpufleet.host.net;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs iptables' own programs directly (an argument list, never a shell line), each bounded in time:
 * a hung xtables lock must not hang the agent's checks.
 */
public final class ProcessTables implements PodFirewall.Tables {
    private static final long TIMEOUT_SECONDS = 20;

    @Override
    public Result run(List<String> command, String input) {
        Path out;
        try {
            out = Files.createTempFile("gpufleet-tables", ".out");
        } catch (IOException e) {
            return new Result(1, "cannot make a temporary file: " + e.getMessage());
        }
        try {
            // Output to a file: waiting on a pipe could outlast the time limit.
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
            try (OutputStream in = p.getOutputStream()) {
                if (input != null) {
                    in.write(input.getBytes(StandardCharsets.UTF_8));
                }
            } catch (IOException e) {
                // The program exited without reading its input; its exit status and output say why.
            }
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(124, command.get(0) + " did not finish within " + TIMEOUT_SECONDS + " s");
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            return new Result(127, command.get(0) + " cannot be run: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(130, command.get(0) + " interrupted");
        } finally {
            try {
                Files.deleteIfExists(out);
            } catch (IOException e) {
                // a temporary file left behind is harmless
            }
        }
    }

    /** The IPv4 name servers of this host's resolv.conf that are not loopback (Docker queries those itself). */
    public static List<String> resolvers(Path resolvConf) {
        List<String> found = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(resolvConf)) {
                String[] f = line.trim().split("\\s+");
                if (f.length >= 2 && f[0].equals("nameserver") && f[1].matches("^[0-9]{1,3}(\\.[0-9]{1,3}){3}$") && !f[1].startsWith("127.")) {
                    found.add(f[1]);
                }
            }
        } catch (IOException e) {
            // No resolv.conf: Docker falls back to public resolvers, which the rules do not block.
        }
        return found;
    }
}
