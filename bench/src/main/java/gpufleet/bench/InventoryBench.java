package gpufleet.bench;

import gpufleet.control.ControlApi;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The fleet inventory under a simulated fleet (default 10,000 hosts x 8 GPUs): inventory report
 * ingest, the operator's GPU query and the fleet summary, beside {@code pgbench -N} on the same
 * PostgreSQL in the same run. The control-api runs in this JVM, on this machine's cores, with
 * the load generator.
 */
final class InventoryBench {
    private static final String TOKEN = BenchApi.OPERATOR_TOKEN;

    private InventoryBench() {}

    static void main(String[] args) throws Exception {
        Map<String, String> opt = BenchApi.options(args, "--hosts=10000 --gpus=8 --seconds=20");
        int hosts = Integer.parseInt(opt.getOrDefault("hosts", "10000"));
        int gpus = Integer.parseInt(opt.getOrDefault("gpus", "8"));
        int seconds = Integer.parseInt(opt.getOrDefault("seconds", "20"));
        Db db = Db.fromEnvironment();

        System.out.printf("fleet: %d hosts x %d GPUs = %d GPUs; %d s per phase%n", hosts, gpus, hosts * gpus, seconds);
        db.recreate("gpufleet_pgbench");
        Pgbench.Result baseline = Pgbench.simpleUpdate(db, "gpufleet_pgbench", 16, seconds);
        db.drop("gpufleet_pgbench");
        System.out.printf("pgbench -N (16 clients): %.0f tps, average latency %.2f ms%n", baseline.tps(), baseline.latencyAvgMillis());

        try (ControlApi api = BenchApi.start(db, "gpufleet_bench", Map.of("GPUFLEET_DB_POOL_SIZE", "24"))) {
            List<FleetSeed.SeededHost> fleet;
            long t0 = System.nanoTime();
            try (Connection c = db.connect("gpufleet_bench")) {
                fleet = FleetSeed.seed(c, hosts, gpus);
            }
            System.out.printf("seeded in %.1f s%n", (System.nanoTime() - t0) / 1e9);
            run(api.port(), fleet, gpus, seconds, baseline);
        } finally {
            db.drop("gpufleet_bench");
        }
    }

    private static void run(int port, List<FleetSeed.SeededHost> fleet, int gpus, int seconds,
                            Pgbench.Result baseline) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        String base = "http://127.0.0.1:" + port;
        Path hostsFile = Files.createTempFile("fleet-hosts", ".txt");
        Files.write(hostsFile, fleet.stream().map(h -> h.id() + " " + h.token() + " " + h.model()).toList());
        Map<String, String> reportsEnv = Map.of("FLEET_GPUS", Integer.toString(gpus));
        try {
            // Warm the JIT and the pools first; the figures come from the second runs. Heartbeats
            // have their own benchmark at the production cadence (HeartbeatBench).
            Wrk.run(base, 16, 3, hostsFile, reportsEnv);
            Wrk.Result reports = Wrk.run(base, 16, seconds, hostsFile, reportsEnv);

            String query = base + "/v1/gpus?state=free&limit=500&model=" + URLEncoder.encode(FleetSeed.MODELS[0], StandardCharsets.UTF_8);
            Load.run(1, 2, r -> get(http, query));
            Load.Result queries = Load.run(1, Math.min(seconds, 10), r -> get(http, query));
            Load.Result summary = Load.run(1, Math.min(seconds, 5), r -> get(http, base + "/v1/fleet/summary"));

            System.out.println();
            System.out.printf("%-46s %12s %10s %10s %8s%n", "phase", "per second", "p50 ms", "p99 ms", "errors");
            line("pgbench -N (baseline, 16 clients)", baseline.tps(), baseline.latencyAvgMillis(), Double.NaN, 0);
            line("inventory reports, " + gpus + " GPUs (wrk, 16 conns)", reports.perSecond(), reports.p50Millis(),
                    reports.p99Millis(), reports.errors());
            line("GET /v1/gpus model+free, 500/page (1 client)", queries);
            line("GET /v1/fleet/summary (1 client)", summary);
            System.out.println("(pgbench prints an average latency, shown under p50)");
            System.out.printf("GPU query p99 = %.1f ms at %d GPUs (target < 50 ms)%n",
                    queries.stats().percentileMillis(99), fleet.size() * gpus);
        } finally {
            Files.deleteIfExists(hostsFile);
        }
    }

    private static boolean get(HttpClient http, String url) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer " + TOKEN).build();
        return http.send(req, HttpResponse.BodyHandlers.ofByteArray()).statusCode() == 200;
    }

    private static void line(String phase, Load.Result r) {
        line(phase, r.perSecond(), r.stats().percentileMillis(50), r.stats().percentileMillis(99), r.stats().errors());
    }

    private static void line(String phase, double rate, double p50, double p99, long errors) {
        System.out.printf("%-44s %12.0f %10.2f %10s %8d%n", phase, rate, p50, Double.isNaN(p99) ? "-" : String.format("%.2f", p99), errors);
    }
}
