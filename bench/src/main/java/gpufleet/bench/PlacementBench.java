package gpufleet.bench;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.common.Json;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.control.ControlApi;
import gpufleet.control.config.ControlApiConfig;
import gpufleet.control.config.SealKey;
import gpufleet.host.agent.Agent;
import gpufleet.host.agent.AgentConfig;
import gpufleet.host.agent.ControlApiClient;
import gpufleet.host.docker.DockerRuntime;
import gpufleet.host.nvml.NvmlGpuInventory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Placement on a simulated fleet (10,000 hosts x 8 GPUs) at concurrency 16, beside pgbench -N in
 * the same run, then checked for double allocations; and the time from creating a workload to
 * its status running on the real Docker Engine through a real host-agent, over 50 workloads.
 */
final class PlacementBench {
    static final String TOKEN = "gfo_bench-operator-token-000000000000";
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private PlacementBench() {}

    static void main(String[] args) throws Exception {
        int hosts = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        String sim = Path.of(args.length > 2 ? args[2] : "host-agent/target/nvml-sim/libnvidia-ml-sim.so").toAbsolutePath().toString();
        Db db = Db.fromEnvironment();
        db.recreate("gpufleet_pgbench");
        Pgbench.Result baseline = Pgbench.simpleUpdate(db, "gpufleet_pgbench", 16, seconds);
        db.drop("gpufleet_pgbench");
        placements(db, hosts, seconds, baseline);
        if (!(args.length > 3 && args[3].equals("placement-only"))) {
            timeToRunning(db, sim, 50);
        }
    }

    static ControlApi controlApi(Db db, String database) throws Exception {
        db.recreate(database);
        Map<String, String> v = new HashMap<>(ControlApiConfig.DEFAULTS);
        v.put(SealKey.FILE_VARIABLE, Db.sealKeyFile().toString());
        v.put("GPUFLEET_DB_URL", db.url(database));
        v.put("GPUFLEET_DB_USER", db.user());
        v.put("GPUFLEET_DB_PASSWORD", db.password());
        v.put("GPUFLEET_LISTEN", "127.0.0.1:0");
        v.put("GPUFLEET_METRICS_LISTEN", "127.0.0.1:0"); // beside a running dev/run.sh
        v.put("GPUFLEET_OPERATOR_TOKEN", TOKEN);
        // One tenant stands for the whole fleet's traffic here: the per-tenant request rate and
        // workload quota (defaults 50/s and 1000) are lifted, as an operator would for such a tenant.
        v.put("GPUFLEET_TENANT_REQUEST_RATE", "1000000");
        v.put("GPUFLEET_TENANT_REQUEST_BURST", "1000000");
        v.put("GPUFLEET_TENANT_MAX_WORKLOADS", "1000000");
        v.put("GPUFLEET_DB_POOL_SIZE", "24");
        v.put("GPUFLEET_HEARTBEAT_GRACE", "10m");
        v.put("GPUFLEET_LOST_AFTER", "20m");
        return ControlApi.start(ControlApiConfig.from(v));
    }

    private static void placements(Db db, int hosts, int seconds, Pgbench.Result baseline) throws Exception {
        try (ControlApi api = controlApi(db, "gpufleet_bench_place")) {
            String base = "http://127.0.0.1:" + api.port();
            try (Connection c = db.connect("gpufleet_bench_place")) {
                // One model on every host: 80,000 GPUs the load can fill without running out.
                FleetSeed.seed(c, hosts, 8, FleetSeed.MODELS[0]);
            }
            String tenant = setup(base, FleetSeed.MODELS[0]);
            // The placement transaction alone, as pgbench -N measures its transaction: 16 threads
            // calling the workload store in-process (no HTTP, no JSON).
            WorkloadSpec template = Json.mapper().readValue("""
                    {"podUid":"t","namespace":"bench","name":"t","offering":"bench-1x","containers":[{"name":"main",
                     "image":"gpufleet/busybox:test","resources":{"gpus":1,"cpu":"1","memory":"1Gi"}}]}""", WorkloadSpec.class);
            AtomicLong seq = new AtomicLong();
            Load.Call place = random -> {
                String uid = "tx-" + seq.incrementAndGet();
                WorkloadSpec spec = new WorkloadSpec(uid, "bench", uid, "bench-1x", template.containers(), null, null, null);
                return api.workloads().create("bench", spec).workload().hostId() != null;
            };
            Load.run(16, 3, place);
            analyze(db);
            Load.Result tx = Load.run(16, seconds, place);
            // The whole request: wrk over HTTP, authentication, JSON in and out.
            Map<String, String> env = Map.of("PLACE_TOKEN", tenant, "PLACE_OFFERING", "bench-1x");
            Wrk.run("placement.lua", base, 16, 3, null, env);
            analyze(db);
            Wrk.Result r = Wrk.run("placement.lua", base, 16, seconds, null, env);
            try (Connection c = db.connect("gpufleet_bench_place"); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("""
                         SELECT count(*), count(DISTINCT gpu_uuid), (SELECT count(*) FROM workloads WHERE phase = 'placed')
                         FROM gpu_allocations WHERE released_at IS NULL""")) {
                rs.next();
                System.out.printf("placement on %d hosts x 8 GPUs (16 concurrent, %d s each):%n", hosts, seconds);
                System.out.printf("  %-40s %10s %10s %10s %8s%n", "", "per second", "p50 ms", "p99 ms", "errors");
                System.out.printf("  %-40s %10.0f %10.2f %10s %8d%n", "pgbench -N (baseline, 16 clients)", baseline.tps(),
                        baseline.latencyAvgMillis(), "(avg)", 0);
                System.out.printf("  %-40s %10.0f %10.2f %10.2f %8d%n", "placement transactions (16 threads)", tx.perSecond(),
                        tx.stats().percentileMillis(50), tx.stats().percentileMillis(99), tx.stats().errors());
                System.out.printf("  %-40s %10.0f %10.2f %10.2f %8d%n", "placements over HTTP (wrk, 16 conns)", r.perSecond(),
                        r.p50Millis(), r.p99Millis(), r.errors());
                System.out.printf("  placement transactions / pgbench -N = %.2fx (target >= 0.5x); over HTTP %.2fx%n",
                        tx.perSecond() / baseline.tps(), r.perSecond() / baseline.tps());
                System.out.printf("  live allocations %d, distinct GPUs %d, placed workloads %d: %s%n", rs.getLong(1), rs.getLong(2),
                        rs.getLong(3), rs.getLong(1) == rs.getLong(2) ? "no GPU allocated twice" : "DOUBLE ALLOCATION");
                try (ResultSet p = s.executeQuery("""
                        SELECT count(*), min(message) FROM workloads WHERE phase = 'pending'""")) {
                    p.next();
                    System.out.printf("  left pending: %d%s%n", p.getLong(1), p.getLong(1) == 0 ? "" : " (e.g. " + p.getString(2) + ")");
                }
                try (ResultSet p = s.executeQuery("""
                        SELECT count(*) FROM workloads w WHERE w.gpu_count <> (SELECT count(*) FROM gpu_allocations a
                            WHERE a.workload_id = w.id AND a.released_at IS NULL) AND w.phase = 'placed'""")) {
                    p.next();
                    System.out.printf("  placed workloads holding other than their GPU count: %d%s%n", p.getLong(1),
                            p.getLong(1) == 0 ? "" : " (PLACED TWICE)");
                }
            }
        } finally {
            db.drop("gpufleet_bench_place");
        }
    }

    /**
     * Statistics as a running fleet has them: after a warm-up the workload tables are no longer
     * the empty ones the seed analyzed (autovacuum would catch up within a minute or so).
     */
    private static void analyze(Db db) throws Exception {
        try (Connection c = db.connect("gpufleet_bench_place"); Statement s = c.createStatement()) {
            s.execute("ANALYZE workloads, gpu_allocations, gpus");
        }
    }

    /** An offering of one GPU of {@code model} and a tenant allowed to use it; returns the tenant's token. */
    static String setup(String base, String model) throws Exception {
        post(base + "/v1/offerings", TOKEN, Map.of("name", "bench-1x", "gpuModel", model, "gpuCount", 1, "cpu", "8", "memory", "32Gi"));
        post(base + "/v1/tenants", TOKEN, Map.of("name", "bench", "offerings", java.util.List.of("bench-1x")));
        return post(base + "/v1/tenants/bench/tokens", TOKEN, Map.of("description", "bench")).get("token").asText();
    }

    static JsonNode post(String url, String token, Object body) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(Json.mapper().writeValueAsString(body)))
                .build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() >= 300) {
            throw new IllegalStateException(url + ": " + r.statusCode() + " " + r.body());
        }
        return Json.mapper().readTree(r.body());
    }

    private static JsonNode get(String url, String token) throws Exception {
        return Json.mapper().readTree(HTTP.send(HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer " + token)
                .build(), HttpResponse.BodyHandlers.ofString()).body());
    }

    private static void delete(String url, String token) throws Exception {
        HTTP.send(HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer " + token).DELETE().build(),
                HttpResponse.BodyHandlers.discarding());
    }

    private static void timeToRunning(Db db, String sim, int n) throws Exception {
        Path state = Files.createTempDirectory("place-bench");
        try (ControlApi api = controlApi(db, "gpufleet_bench_run")) {
            String base = "http://127.0.0.1:" + api.port();
            String join = post(base + "/v1/join-tokens", TOKEN, Map.of("ttl", "1h")).get("token").asText();
            Map<String, String> env = new HashMap<>(Map.of("GPUFLEET_CONTROL_API_URL", base, "GPUFLEET_JOIN_TOKEN", join,
                    "GPUFLEET_STATE_DIR", state.toString(), "GPUFLEET_NVML_LIBRARY", sim, "GPUFLEET_METRICS_LISTEN", "127.0.0.1:0",
                    "GPUFLEET_RESERVED_CPU", "0", "GPUFLEET_RESERVED_MEMORY", "0"));
            env.put("GPUFLEET_STREAM_PORT", "0");
            AgentConfig config = AgentConfig.fromEnvironment(env, "bench-docker");
            try (Agent agent = new Agent(config, new ControlApiClient(config.controlApi()), () -> new NvmlGpuInventory(sim),
                    new DockerRuntime(config.dockerHost(), config.runtime()), e -> { })) {
                agent.start();
                String tenant = setup(base, "NVIDIA RTX A6000");
                while (get(base + "/v1/hosts/bench-docker", TOKEN).at("/host/gpus/free").asInt() < 8) {
                    Thread.sleep(100);
                }
                // One warm-up workload first, not counted: the JIT, the first image lookup, the tenant's first sandbox.
                long[] all = new long[n + 1];
                for (int i = 0; i <= n; i++) {
                    String uid = "run-" + i;
                    Map<String, Object> pod = Map.of("podUid", uid, "namespace", "bench", "name", uid, "offering", "bench-1x",
                            "terminationGracePeriodSeconds", 0, "containers", java.util.List.of(Map.of("name", "main",
                                    "image", "gpufleet/busybox:test", "command", java.util.List.of("sleep", "3600"),
                                    "resources", Map.of("gpus", 1, "cpu", "100m", "memory", "64Mi"))));
                    long t0 = System.nanoTime();
                    post(base + "/v1/tenants/bench/workloads", tenant, pod);
                    while (!get(base + "/v1/tenants/bench/workloads/" + uid, tenant).path("phase").asText().equals("running")) {
                        Thread.sleep(5);
                    }
                    all[i] = System.nanoTime() - t0;
                    delete(base + "/v1/tenants/bench/workloads/" + uid, tenant);
                    while (!get(base + "/v1/tenants/bench/workloads/" + uid, tenant).path("phase").asText().equals("deleted")) {
                        Thread.sleep(20);
                    }
                }
                System.out.printf("%ncreation to running on real Docker (image present), %d workloads one after another,"
                        + " after 1 warm-up:%n", n);
                System.out.println(Stats.afterWarmUp(all, 1500));
            }
        } finally {
            db.drop("gpufleet_bench_run");
        }
    }
}
