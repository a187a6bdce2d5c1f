package gpufleet.bench;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Drives load with wrk (Debian's package), a C load generator far lighter than a Java client,
 * so that on a small machine the figures measure the server rather than the client.
 */
final class Wrk {
    private static final Pattern RESULT = Pattern.compile(
            "RESULT requests=(\\d+) seconds=([0-9.]+) p50=([0-9.]+) p99=([0-9.]+) errors=(\\d+)");

    private static final Pattern CPU = Pattern.compile("CPU ticks=(\\d+)");

    /** What wrk measured, and the CPU time wrk itself used (its own share of a small machine). */
    record Result(long requests, double seconds, double p50Millis, double p99Millis, long errors, double cpuSeconds) {
        double perSecond() {
            return requests / seconds;
        }
    }

    private Wrk() {}

    static Result run(String url, int connections, int seconds, Path hostsFile, Map<String, String> env)
            throws IOException, InterruptedException {
        return run("fleet.lua", url, connections, seconds, hostsFile, env);
    }

    static Result run(String scriptName, String url, int connections, int seconds, Path hostsFile, Map<String, String> env)
            throws IOException, InterruptedException {
        Path script = Files.createTempFile("wrk", ".lua");
        try (InputStream in = Wrk.class.getResourceAsStream("/wrk/" + scriptName)) {
            Files.write(script, in.readAllBytes());
        }
        // A shell around wrk prints the CPU time of its waited-for child (cutime + cstime in its own
        // /proc stat), which can no longer be read from wrk's /proc entry once it has exited.
        ProcessBuilder pb = new ProcessBuilder(List.of("sh", "-c",
                "wrk \"$@\"; s=$?; echo \"CPU ticks=$(awk '{print $16 + $17}' /proc/$$/stat)\"; exit $s", "wrk",
                "-t2", "-c" + connections, "-d" + seconds + "s", "--timeout", "10s", "-s", script.toString(), url))
                .redirectErrorStream(true);
        if (hostsFile != null) {
            pb.environment().put("FLEET_HOSTS", hostsFile.toString());
        }
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        Files.deleteIfExists(script);
        Matcher m = RESULT.matcher(out);
        Matcher cpu = CPU.matcher(out);
        if (!m.find() || !cpu.find()) {
            throw new IllegalStateException("wrk printed no result (without wrk: apt-get install wrk):\n" + out);
        }
        return new Result(Long.parseLong(m.group(1)), Double.parseDouble(m.group(2)), Double.parseDouble(m.group(3)),
                Double.parseDouble(m.group(4)), Long.parseLong(m.group(5)), Long.parseLong(cpu.group(1)) / ProcStats.TICKS_PER_SECOND);
    }
}
