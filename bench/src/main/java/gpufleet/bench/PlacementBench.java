package gpufleet.bench;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.common.Json;
import gpufleet.control.ControlApi;
import gpufleet.host.agent.Agent;
import gpufleet.host.agent.AgentConfig;
import gpufleet.host.agent.ControlApiClient;
import gpufleet.host.docker.DockerRuntime;
import gpufleet.host.nvml.NvmlGpuInventory;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Placement as production meets it, beside pgbench -N in the same run: creates over HTTP (the
 * tenant's token and path, JSON) at a fixed arrival rate of half pgbench's, open loop
 * (OpenLoop: latency from each create's intended time), on a fragmented fleet of three models
 * (FragmentedFleet), with churn keeping it near 60% held and no manual ANALYZE; then lone creates
 * 50 ms apart, the double-allocation check, and the time from creating a workload to its status
 * running on the real Docker Engine through a real host-agent, over 50 workloads.
 */
final class PlacementBench {
    static final String TOKEN = BenchApi.OPERATOR_TOKEN;
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
        Map<String, String> v = new HashMap<>();
        // One tenant stands for the whole fleet's traffic here: the per-tenant request rate and
        // workload quota (defaults 50/s and 1000) are lifted, as an operator would for such a tenant.
        v.put("GPUFLEET_TENANT_REQUEST_RATE", "1000000");
        v.put("GPUFLEET_TENANT_REQUEST_BURST", "1000000");
        v.put("GPUFLEET_TENANT_MAX_WORKLOADS", "1000000");
        v.put("GPUFLEET_DB_POOL_SIZE", "24");
        v.put("GPUFLEET_HEARTBEAT_GRACE", "10m");
        v.put("GPUFLEET_LOST_AFTER", "20m");
        return BenchApi.start(db, database, v);
    }

    /** GPUs per pod of the load, and how many in a hundred ask for each. */
    private static final int[] SIZES = {1, 2, 4, 8};
    private static final int[] SIZE_SHARES = {60, 20, 15, 5};
    private static final String[] MODEL_KEYS = {"a6000", "a100", "h100"};
    /**
     * Creates at up to 500/s before the measured run, not counted: a production control-api has
     * long been running, while a fresh one's JIT compiler is still busy a minute in (about 100
     * compilations a second 65 s after start, -XX:+PrintCompilation). With 20 s the same run gave
     * 0.29x-0.32x, with or without a VACUUM ANALYZE after the fill (so not the plans): 90 s brings
     * the JVM to where production's is. PLACE_WARM_UP=SECONDS sets it (the first minute after a
     * restart: 20).
     */
    private static final int WARM_UP_SECONDS = Integer.parseInt(System.getenv().getOrDefault("PLACE_WARM_UP", "90"));
    /** Live workloads the load's tenant keeps; older ones are released (churn), so the fleet stays near 60% held. */
    private static final int WINDOW = 1000;

    private static void placements(Db db, int hosts, int seconds, Pgbench.Result baseline) throws Exception {
        try (ControlApi api = controlApi(db, "gpufleet_bench_place")) {
            String base = "http://127.0.0.1:" + api.port();
            FragmentedFleet.Fill fill;
            try (Connection c = db.connect("gpufleet_bench_place")) {
                FleetSeed.seed(c, hosts, 8);
                fill = FragmentedFleet.fill(c, 19, 0.05);
            }
            String tenant = offerings(base);
            System.out.printf("placement over HTTP on %d hosts x 8 GPUs, three models: %d of %d GPUs held (%.0f%%) by %d workloads,"
                            + " %d hosts cordoned; pods of 1/2/4/8 GPUs (%d/%d/%d/%d in 100); statistics left to autovacuum%n",
                    hosts, fill.held(), fill.gpus(), 100.0 * fill.held() / fill.gpus(), fill.workloads(), fill.cordoned(),
                    SIZE_SHARES[0], SIZE_SHARES[1], SIZE_SHARES[2], SIZE_SHARES[3]);
            System.out.printf("  %-40s %.0f tps (16 clients, %d s, latency avg %.2f ms)%n", "pgbench -N (baseline)", baseline.tps(),
                    seconds, baseline.latencyAvgMillis());
            double rate = 0.5 * baseline.tps();
            Creates creates = new Creates(tenant, "w", new ConcurrentLinkedQueue<>());
            try (Churn churn = new Churn(db, "gpufleet_bench_place", creates.made)) {
                OpenLoop.run("127.0.0.1", api.port(), 64, Math.min(rate, 500), WARM_UP_SECONDS, creates);
                OpenLoop.Result r = OpenLoop.run("127.0.0.1", api.port(), 64, rate, seconds, creates);
                System.out.printf("  %-40s %s%n", "creates, open loop at 0.5x pgbench -N:", r.summary());
                System.out.printf("  achieved / pgbench -N = %.2fx (target >= 0.5x with p99 < 50 ms): %s%n", r.achievedPerSecond() / baseline.tps(),
                        r.achievedPerSecond() >= 0.49 * baseline.tps() && r.millis(99) < 50 && r.errors() == 0 ? "met" : "NOT met");
                System.out.printf("  released by the churn (the hosts' side of deletes, in SQL): %d workloads%n", churn.released());
                if (System.getenv("PLACE_STEPS") != null) {
                    for (double x : new double[] {0.75, 1.0, 1.25}) {
                        OpenLoop.Result step = OpenLoop.run("127.0.0.1", api.port(), 64, x * baseline.tps(), 10, creates);
                        System.out.printf("  step %.2fx pgbench -N, 10 s: %s%n", x, step.summary());
                    }
                }
            }
            // One create at a time, 50 ms apart: nothing to batch with, so no wait may be added.
            OpenLoop.Result lone = OpenLoop.run("127.0.0.1", api.port(), 1, 20, 10, new Creates(tenant, "lone", null));
            System.out.printf("  %-40s %s%n", "lone creates, 20/s, one connection:", lone.summary());
            System.out.printf("  lone p50 %.2f ms (target < 5 ms): %s%n", lone.millis(50), lone.millis(50) < 5 ? "met" : "NOT met");
            check(db);
        } finally {
            db.drop("gpufleet_bench_place");
        }
    }

    /** Creates through the tenant's own path with its token, JSON; pod size and model drawn from the index. */
    private static final class Creates implements OpenLoop.Source {
        private final Map<String, String> headers;
        private final String prefix;
        /** The ids of the workloads made, in the order their answers came; null when nobody asks. */
        final Queue<String> made;

        Creates(String token, String prefix, Queue<String> made) {
            this.headers = Map.of("Authorization", "Bearer " + token, "Content-Type", "application/json");
            this.prefix = prefix + "-" + System.nanoTime() + "-";
            this.made = made;
        }

        @Override
        public void answered(long index, int status, byte[] body) {
            if (made != null && status == 201) {
                try {
                    made.add(Json.mapper().readTree(body).get("id").asText());
                } catch (IOException | RuntimeException e) {
                    System.err.println("create " + index + ": no workload id in its answer: " + e);
                }
            }
        }

        @Override
        public OpenLoop.Request request(long i) {
            long h = i * 0x9E3779B97F4A7C15L;
            int share = (int) Long.remainderUnsigned(h >>> 7, 100);
            int size = SIZES[SIZES.length - 1];
            for (int k = 0, sum = 0; k < SIZES.length; k++) {
                sum += SIZE_SHARES[k];
                if (share < sum) {
                    size = SIZES[k];
                    break;
                }
            }
            String model = MODEL_KEYS[(int) Long.remainderUnsigned(h >>> 17, MODEL_KEYS.length)];
            String uid = prefix + i;
            String body = "{\"podUid\":\"" + uid + "\",\"namespace\":\"bench\",\"name\":\"" + uid + "\",\"offering\":\"bench-" + model + "-"
                    + size + "x\",\"containers\":[{\"name\":\"main\",\"image\":\"gpufleet/busybox:test\",\"resources\":{\"gpus\":" + size
                    + ",\"cpu\":\"" + size + "\",\"memory\":\"" + 4 * size + "Gi\"}}]}";
            return new OpenLoop.Request("POST", "/v1/tenants/bench/workloads", headers, body.getBytes(StandardCharsets.UTF_8));
        }
    }

    /** Offerings of 1, 2, 4 and 8 GPUs of each model and the tenant "bench" allowed them all; returns its token. */
    private static String offerings(String base) throws Exception {
        List<String> names = new ArrayList<>();
        for (int m = 0; m < MODEL_KEYS.length; m++) {
            for (int n : SIZES) {
                String name = "bench-" + MODEL_KEYS[m] + "-" + n + "x";
                post(base + "/v1/offerings", TOKEN, Map.of("name", name, "gpuModel", FleetSeed.MODELS[m], "gpuCount", n,
                        "cpu", Integer.toString(8 * n), "memory", 32 * n + "Gi"));
                names.add(name);
            }
        }
        post(base + "/v1/tenants", TOKEN, Map.of("name", "bench", "offerings", names));
        return post(base + "/v1/tenants/bench/tokens", TOKEN, Map.of("description", "bench")).get("token").asText();
    }

    /**
     * The hosts' side of deletes: simulated hosts run no agent to confirm a stop, so the bench
     * releases the load's workloads older than the newest WINDOW as a confirmed delete does
     * (allocations released, flags cleared, workload deleted), every 100 ms, each by its id as a
     * host's confirmation names it. (Until 2026-12-07 it picked them by reading all of the
     * tenant's live workloads in creation order each round and locked the newest 1,000 with
     * them: a quarter of the database's busy samples during the load, a cost production's
     * releases do not have.)
     */
    private static final class Churn implements AutoCloseable {
        private final Connection c;
        /** Prepared once: PostgreSQL plans it once for the connection, as the control-api's releases are. */
        private final PreparedStatement release;
        private final Queue<String> made;
        private final Thread thread;
        private volatile boolean running = true;
        private long released;

        Churn(Db db, String database, Queue<String> made) throws SQLException {
            this.made = made;
            c = db.connect(database);
            try (Statement s = c.createStatement()) {
                // Keyed lookups whatever the statistics, as the control-api's own batch statements.
                s.execute("SET enable_seqscan = off");
            }
            release = c.prepareStatement("""
                    WITH victims AS (SELECT id FROM workloads WHERE id = ANY (?::uuid[]) AND deleted_at IS NULL FOR UPDATE),
                    freed AS (UPDATE gpu_allocations SET released_at = now()
                              WHERE workload_id IN (SELECT id FROM victims) AND released_at IS NULL RETURNING id, gpu_uuid),
                    -- as the control-api's release: the usage intervals end with the allocations
                    ended AS (UPDATE usage_intervals SET ended_at = now(), end_reason = 'deleted'
                              WHERE allocation_id IN (SELECT id FROM freed)),
                    flags AS (UPDATE gpus SET allocated = false WHERE uuid IN (SELECT gpu_uuid FROM freed))
                    UPDATE workloads SET deleted_at = now(), deletion_requested_at = coalesce(deletion_requested_at, now()),
                        phase = 'deleted', updated_at = now()
                    WHERE id IN (SELECT id FROM victims)""");
            thread = new Thread(this::loop, "churn");
            thread.setDaemon(true);
            thread.start();
        }

        private void loop() {
            while (running) {
                List<String> ids = new ArrayList<>();
                for (int n = made.size() - WINDOW; n > 0; n--) {
                    ids.add(made.poll());
                }
                try {
                    if (!ids.isEmpty()) {
                        release.setArray(1, c.createArrayOf("uuid", ids.toArray()));
                        int n = release.executeUpdate();
                        synchronized (this) {
                            released += n;
                        }
                    }
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                } catch (SQLException e) {
                    System.err.println("churn: " + e.getMessage());
                }
            }
        }

        synchronized long released() {
            return released;
        }

        @Override
        public void close() throws Exception {
            running = false;
            thread.interrupt();
            thread.join();
            c.close();
        }
    }

    /** Every live allocation on a distinct GPU, each placed workload holding its GPU count, no host over capacity, each metered. */
    private static void check(Db db) throws Exception {
        try (Connection c = db.connect("gpufleet_bench_place"); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("""
                     SELECT (SELECT count(*) FROM gpu_allocations WHERE released_at IS NULL),
                            (SELECT count(DISTINCT gpu_uuid) FROM gpu_allocations WHERE released_at IS NULL),
                            (SELECT count(*) FROM workloads w WHERE w.phase IN ('placed', 'running') AND w.deleted_at IS NULL
                               AND w.gpu_count <> (SELECT count(*) FROM gpu_allocations a WHERE a.workload_id = w.id AND a.released_at IS NULL)),
                            (SELECT count(*) FROM (SELECT g.host_id FROM gpu_allocations a JOIN gpus g ON g.uuid = a.gpu_uuid
                               WHERE a.released_at IS NULL GROUP BY g.host_id HAVING count(*) > 8) over),
                            (SELECT count(*) FROM host_inventory i JOIN host_usage u ON u.host_id = i.host_id
                               WHERE u.cpu_millis > i.allocatable_cpu_millis OR u.memory_bytes > i.allocatable_memory_bytes),
                            (SELECT count(*) FROM workloads WHERE phase = 'pending' AND deleted_at IS NULL),
                            (SELECT min(message) FROM workloads WHERE phase = 'pending' AND deleted_at IS NULL),
                            (SELECT count(*) FROM gpu_allocations a WHERE a.tenant = 'bench' AND a.released_at IS NULL
                               AND NOT EXISTS (SELECT 1 FROM usage_intervals u WHERE u.allocation_id = a.id AND u.ended_at IS NULL)),
                            (SELECT count(*) FROM usage_intervals u WHERE u.tenant = 'bench' AND u.ended_at IS NULL
                               AND NOT EXISTS (SELECT 1 FROM gpu_allocations a WHERE a.id = u.allocation_id AND a.released_at IS NULL))""")) {
            rs.next();
            boolean ok = rs.getLong(1) == rs.getLong(2) && rs.getLong(3) == 0 && rs.getLong(4) == 0 && rs.getLong(5) == 0;
            System.out.printf("  live allocations %d on %d distinct GPUs; placed workloads not holding their GPU count %d;"
                            + " hosts over 8 GPUs %d, over cpu or memory %d: %s%n", rs.getLong(1), rs.getLong(2), rs.getLong(3),
                    rs.getLong(4), rs.getLong(5), ok ? "no double allocation" : "DOUBLE ALLOCATION");
            System.out.printf("  left pending: %d%s%n", rs.getLong(6), rs.getLong(6) == 0 ? "" : " (e.g. " + rs.getString(7) + ")");
            // The load tenant's allocations were all made through the API, so each must be metered (V27).
            System.out.printf("  metering: live allocations without an open usage interval %d, open intervals without a live"
                    + " allocation %d%n", rs.getLong(8), rs.getLong(9));
        }
    }

    /** An offering of one GPU of {@code model} and a tenant allowed to use it; returns the tenant's token. */
    static String setup(String base, String model) throws Exception {
        post(base + "/v1/offerings", TOKEN, Map.of("name", "bench-1x", "gpuModel", model, "gpuCount", 1, "cpu", "8", "memory", "32Gi"));
        post(base + "/v1/tenants", TOKEN, Map.of("name", "bench", "offerings", List.of("bench-1x")));
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
                            "terminationGracePeriodSeconds", 0, "containers", List.of(Map.of("name", "main",
                                    "image", "gpufleet/busybox:test", "command", List.of("sleep", "3600"),
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
