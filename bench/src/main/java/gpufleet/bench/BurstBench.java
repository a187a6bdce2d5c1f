package gpufleet.bench;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.common.Json;
import gpufleet.control.ControlApi;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A burst of pods through the API (issue #23): 8 simulated hosts, each a host-agent process on
 * the simulated NVML with its own 8 GPUs, sharing this machine's Docker Engine (image present);
 * 64 one-GPU pods created at once, each timed from its POST to the control-api reporting it
 * running, beside the same pods created one after another on the same fleet, and beside the
 * engine alone making the same containers at once ({@link EngineBurst}).
 */
final class BurstBench {
    private static final String TOKEN = PlacementBench.TOKEN;
    private static final String TENANT_PATH = "/v1/tenants/bench/workloads";
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private BurstBench() {}

    static void main(String[] args) throws Exception {
        int hosts = args.length > 0 ? Integer.parseInt(args[0]) : 8;
        int pods = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        String sim = Path.of(args.length > 2 ? args[2] : "host-agent/target/nvml-sim/libnvidia-ml-sim.so").toAbsolutePath().toString();
        Db db = Db.fromEnvironment();
        Path dir = Files.createTempDirectory("burst-bench");
        List<Process> agents = new ArrayList<>();
        try (ControlApi api = PlacementBench.controlApi(db, "gpufleet_bench_burst")) {
            String base = "http://127.0.0.1:" + api.port();
            for (int i = 1; i <= hosts; i++) {
                agents.add(agent(base, sim, dir, i));
            }
            String tenant = PlacementBench.setup(base, "NVIDIA RTX A6000");
            for (int i = 1; i <= hosts; i++) {
                awaitFree(base, hostName(i), 8, agents, dir);
            }
            long[] single = oneAtATime(base, tenant, Math.min(pods, 16) + 1);
            System.out.printf("%nburst of pods through the API, %d simulated hosts (a host-agent process each) on one Docker Engine,"
                    + " image present%n", hosts);
            System.out.printf("  one at a time, %d pods after 1 warm-up:%n%s%n", single.length - 1, Stats.afterWarmUp(single, 3000));
            double p99 = burst(base, tenant, pods);
            // The same pods with the engine alone, the agents still beside it: what is left is ours.
            Stats engine = EngineBurst.run(pods, "gpufleet/pause:test", "gpufleet/busybox:test", "nvidia");
            System.out.printf("  baseline, the Docker Engine alone, the same %d pods at once (pause + container, created and started):"
                    + " p50 %.0f ms, p99 %.0f ms; the burst through the API takes %.2fx its p99%n", pods, engine.percentileMillis(50),
                    engine.percentileMillis(99), p99 / engine.percentileMillis(99));
        } finally {
            agents.forEach(Process::destroy);
            for (Process p : agents) {
                p.waitFor();
            }
            db.drop("gpufleet_bench_burst");
            System.out.println("  agents' logs: " + dir);
        }
    }

    static String hostName(int i) {
        return String.format("burst-%02d", i);
    }

    /** One host-agent process with 8 simulated GPUs of its own (UUIDs unique across the fleet). */
    static Process agent(String base, String sim, Path dir, int i) throws Exception {
        String name = hostName(i);
        StringBuilder conf = new StringBuilder("driver 550.127.05\ncuda 12040\n");
        for (int g = 0; g < 8; g++) {
            conf.append(String.format("gpu uuid=GPU-%08x-%04x-4000-8000-%012x name=\"NVIDIA RTX A6000\" serial=133%07d"
                    + " pci=00000000:%02X:00.0 numa=%d mem_total=51527024640%n", 0xb0000 + i, g, g, i * 100 + g, 0x18 + g, g / 4));
        }
        Path config = dir.resolve(name + ".nvml.conf");
        Files.writeString(config, conf);
        String join = PlacementBench.post(base + "/v1/join-tokens", TOKEN, Map.of("ttl", "1h", "hosts", List.of(name)))
                .get("token").asText();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java));
        cmd.addAll(HostAgentBench.AGENT_JVM);
        cmd.addAll(List.of("-jar", "host-agent/target/host-agent-0.1.0-SNAPSHOT-all.jar", "run"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve(name + ".log").toFile());
        pb.environment().putAll(Map.of("GPUFLEET_CONTROL_API_URL", base, "GPUFLEET_JOIN_TOKEN", join, "GPUFLEET_HOST_NAME", name,
                "GPUFLEET_STATE_DIR", dir.resolve(name).toString(), "GPUFLEET_NVML_LIBRARY", sim,
                "GPUFLEET_NVML_SIM_CONFIG", config.toString(), "GPUFLEET_METRICS_LISTEN", "127.0.0.1:0", "GPUFLEET_STREAM_PORT", "0",
                "GPUFLEET_RESERVED_CPU", "0", "GPUFLEET_RESERVED_MEMORY", "0"));
        return pb.start();
    }

    static void awaitFree(String base, String host, int gpus, List<Process> agents, Path dir) throws Exception {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (get(base + "/v1/hosts/" + host, TOKEN).at("/host/gpus/free").asInt() < gpus) {
            if (System.nanoTime() > deadline || agents.stream().anyMatch(p -> !p.isAlive())) {
                throw new IllegalStateException("host " + host + " did not report " + gpus + " free GPUs; logs in " + dir);
            }
            Thread.sleep(200);
        }
    }

    private static Map<String, Object> pod(String uid) {
        return Map.of("podUid", uid, "namespace", "bench", "name", uid, "offering", "bench-1x", "terminationGracePeriodSeconds", 0,
                "containers", List.of(Map.of("name", "main", "image", "gpufleet/busybox:test", "command", List.of("sleep", "3600"),
                        "resources", Map.of("gpus", 1, "cpu", "100m", "memory", "64Mi"))));
    }

    private static long[] oneAtATime(String base, String tenant, int n) throws Exception {
        long[] all = new long[n];
        for (int i = 0; i < n; i++) {
            String uid = "single-" + i;
            long t0 = System.nanoTime();
            PlacementBench.post(base + TENANT_PATH, tenant, pod(uid));
            while (!get(base + TENANT_PATH + "/" + uid, tenant).path("phase").asText().equals("running")) {
                Thread.sleep(5);
            }
            all[i] = System.nanoTime() - t0;
        }
        deleteAll(base, tenant);
        return all;
    }

    /** Every pod created at once, each from its own thread; running seen in the tenant's list, polled every 50 ms. */
    static double burst(String base, String tenant, int pods) throws Exception {
        Map<String, Long> created = new ConcurrentHashMap<>();
        Map<String, Long> running = new ConcurrentHashMap<>();
        ExecutorService pool = Executors.newFixedThreadPool(pods);
        for (int i = 0; i < pods; i++) {
            String uid = "burst-" + i;
            pool.submit(() -> {
                created.put(uid, System.nanoTime());
                PlacementBench.post(base + TENANT_PATH, tenant, pod(uid));
                return null;
            });
        }
        pool.shutdown();
        long deadline = System.nanoTime() + 300_000_000_000L;
        while (running.size() < pods && System.nanoTime() < deadline) {
            for (JsonNode w : get(base + TENANT_PATH, tenant).path("items")) {
                String uid = w.path("podUid").asText();
                if (w.path("phase").asText().equals("running") && created.containsKey(uid)) {
                    running.putIfAbsent(uid, System.nanoTime());
                }
            }
            Thread.sleep(50);
        }
        Stats stats = new Stats();
        running.forEach((uid, at) -> stats.add(at - created.get(uid)));
        System.out.printf("  burst of %d pods created at once: %d running; from creation p50 %.0f ms, p99 %.0f ms, last %.0f ms"
                + " (target p99 < 3000 ms)%n", pods, running.size(), stats.percentileMillis(50), stats.percentileMillis(99),
                stats.percentileMillis(100));
        deleteAll(base, tenant);
        return stats.percentileMillis(99);
    }

    private static void deleteAll(String base, String tenant) throws Exception {
        for (JsonNode w : get(base + TENANT_PATH, tenant).path("items")) {
            HTTP.send(HttpRequest.newBuilder(URI.create(base + TENANT_PATH + "/" + w.path("podUid").asText()))
                    .header("Authorization", "Bearer " + tenant).DELETE().build(), HttpResponse.BodyHandlers.discarding());
        }
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (System.nanoTime() < deadline) {
            boolean left = false;
            for (JsonNode w : get(base + TENANT_PATH, tenant).path("items")) {
                left |= !w.path("phase").asText().equals("deleted");
            }
            if (!left) {
                return;
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("pods still not deleted after 2 minutes");
    }

    /** How many of the tenant's workloads are not yet deleted. */
    static int liveWorkloads(String base, String tenant) throws Exception {
        int live = 0;
        for (JsonNode w : get(base + TENANT_PATH, tenant).path("items")) {
            live += w.path("phase").asText().equals("deleted") ? 0 : 1;
        }
        return live;
    }

    private static JsonNode get(String url, String token) throws Exception {
        return Json.mapper().readTree(HTTP.send(HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer " + token)
                .build(), HttpResponse.BodyHandlers.ofString()).body());
    }
}
