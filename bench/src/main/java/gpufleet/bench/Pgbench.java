package gpufleet.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Runs PostgreSQL's own pgbench against the same server, as the baseline for this machine. */
final class Pgbench {
    private static final Pattern TPS = Pattern.compile("tps = ([0-9.]+)");
    private static final Pattern LATENCY = Pattern.compile("latency average = ([0-9.]+) ms");

    record Result(double tps, double latencyAvgMillis) {}

    private Pgbench() {}

    /** {@code pgbench -N} (simple-update, no branch/teller updates) in its own database. */
    static Result simpleUpdate(Db db, String database, int clients, int seconds) throws IOException, InterruptedException {
        run(db, List.of("pgbench", "-i", "-q", "-s", "10", database));
        String out = run(db, List.of("pgbench", "-N", "-c", Integer.toString(clients), "-j", "2",
                "-T", Integer.toString(seconds), database));
        Matcher tps = TPS.matcher(out);
        Matcher lat = LATENCY.matcher(out);
        if (!tps.find()) {
            throw new IllegalStateException("pgbench printed no tps:\n" + out);
        }
        return new Result(Double.parseDouble(tps.group(1)), lat.find() ? Double.parseDouble(lat.group(1)) : Double.NaN);
    }

    private static String run(Db db, List<String> args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(args);
        cmd.addAll(1, List.of("-h", db.host(), "-p", Integer.toString(db.port()), "-U", db.user()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("PGPASSWORD", db.password());
        Process p = pb.start();
        StringBuilder out = new StringBuilder();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                out.append(line).append('\n');
            }
        }
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed:\n" + out);
        }
        return out.toString();
    }
}
