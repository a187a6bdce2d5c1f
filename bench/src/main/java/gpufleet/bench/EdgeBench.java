package gpufleet.bench;

import gpufleet.control.ControlApi;
import gpufleet.control.config.ControlApiConfig;
import gpufleet.control.config.SealKey;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Requests per second and latency through the Caddy edge (HTTPS, the route's public name) beside
 * the same requests straight to the container port, in one run, with one client: a busybox
 * httpd container answering "It works!" on 8080, routed as the seed's Service is.
 */
final class EdgeBench {
    static final String CONTAINER = "gpufleet-bench-edge";
    static final int HTTPS = 8443;

    private EdgeBench() {}

    static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 15;
        int connections = args.length > 1 ? Integer.parseInt(args[1]) : 16;
        Db db = Db.fromEnvironment();
        db.recreate("gpufleet_bench_edge");
        docker("rm", "-f", CONTAINER);
        docker("run", "-d", "--name", CONTAINER, "gpufleet/busybox:test", "sh", "-c",
                "mkdir -p /www && echo 'It works!' > /www/index.html && exec httpd -f -p 8080 -h /www");
        String ip = docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", CONTAINER).trim();
        Map<String, String> v = new HashMap<>(ControlApiConfig.DEFAULTS);
        v.put(SealKey.FILE_VARIABLE, Db.sealKeyFile().toString());
        v.put("GPUFLEET_METRICS_LISTEN", "127.0.0.1:0"); // beside a running dev/run.sh
        v.putAll(Map.of("GPUFLEET_DB_URL", db.url("gpufleet_bench_edge"), "GPUFLEET_DB_USER", db.user(),
                "GPUFLEET_DB_PASSWORD", db.password(), "GPUFLEET_LISTEN", "127.0.0.1:0", "GPUFLEET_OPERATOR_TOKEN", PlacementBench.TOKEN,
                "GPUFLEET_EDGE_ADMIN_URL", "http://127.0.0.1:2019", "GPUFLEET_EDGE_HTTPS_PORT", Integer.toString(HTTPS),
                "GPUFLEET_EDGE_DOMAIN", "bench.test", "GPUFLEET_EDGE_SYNC_INTERVAL", "300ms"));
        // The seeded host sends no heartbeats: keep it ready for the whole run.
        v.put("GPUFLEET_HEARTBEAT_GRACE", "10m");
        v.put("GPUFLEET_LOST_AFTER", "20m");
        try (ControlApi api = ControlApi.start(ControlApiConfig.from(v))) {
            String base = "http://127.0.0.1:" + api.port();
            FleetSeed.SeededHost host;
            try (Connection c = db.connect("gpufleet_bench_edge")) {
                host = FleetSeed.seed(c, 1, 8).get(0);
            }
            String tenant = PlacementBench.setup(base, host.model());
            String id = PlacementBench.post(base + "/v1/tenants/bench/workloads", tenant, Map.of("podUid", "web", "namespace", "bench",
                    "name", "web", "offering", "bench-1x", "containers", List.of(Map.of("name", "web", "image", "gpufleet/busybox:test",
                            "resources", Map.of("gpus", 1, "cpu", "1", "memory", "1Gi"))))).get("id").asText();
            put(base + "/v1/hosts/" + host.id() + "/workloads/" + id + "/status", host.token(), "{\"generation\":1,\"containers\":"
                    + "[{\"name\":\"web\",\"state\":\"running\",\"ready\":true}],\"ports\":{\"8080\":\"" + ip + ":8080\"}}");
            String name = put(base + "/v1/tenants/bench/routes/be9c0000-0000-4000-8000-0000000be9c0", tenant,
                    "{\"namespace\":\"bench\",\"name\":\"web\",\"port\":80,\"targets\":[{\"podUid\":\"web\",\"port\":8080}]}")
                    .replaceAll(".*\"hostname\":\"([^\"]+)\".*", "$1");
            waitFor(name);
            Load.Result direct = load(connections, seconds, () -> new RawHttp(ip, 8080, ip + ":8080", false));
            Load.Result edge = load(connections, seconds, () -> new RawHttp("127.0.0.1", HTTPS, name, true));
            System.out.printf("edge: GET / (\"It works!\") with %d connections, %d s each, same client:%n", connections, seconds);
            System.out.printf("  %-44s %10s %9s %9s %7s%n", "", "per second", "p50 ms", "p99 ms", "errors");
            row("direct to the container port (HTTP)", direct);
            row("through the Caddy edge (HTTPS, " + name.substring(0, 8) + "…)", edge);
            System.out.printf("  edge / direct: %.2fx requests per second, p99 %.2fx%n", edge.perSecond() / direct.perSecond(),
                    edge.stats().percentileMillis(99) / direct.stats().percentileMillis(99));
        } finally {
            docker("rm", "-f", CONTAINER);
            db.drop("gpufleet_bench_edge");
        }
    }

    private static Load.Result load(int connections, int seconds, java.util.function.Supplier<RawHttp> client) throws Exception {
        ThreadLocal<RawHttp> mine = ThreadLocal.withInitial(client);
        Load.Call call = random -> {
            try {
                return mine.get().get() == 200;
            } catch (IOException e) {
                mine.get().close();
                return false;
            }
        };
        Load.run(connections, 2, call); // warm-up
        return Load.run(connections, seconds, call);
    }

    private static void row(String label, Load.Result r) {
        System.out.printf("  %-44s %10.0f %9.2f %9.2f %7d%n", label, r.perSecond(), r.stats().percentileMillis(50),
                r.stats().percentileMillis(99), r.stats().errors());
    }

    private static void waitFor(String name) throws Exception {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (true) {
            try (RawHttp h = new RawHttp("127.0.0.1", HTTPS, name, true)) {
                if (h.get() == 200) {
                    return;
                }
            } catch (IOException e) {
                // Not there yet.
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("https://" + name + ":" + HTTPS + " did not answer 200 within 60 s");
            }
            Thread.sleep(200);
        }
    }

    private static String put(String url, String token, String json) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() >= 300) {
            throw new IllegalStateException(url + ": " + r.statusCode() + " " + r.body());
        }
        return r.body();
    }

    private static String docker(String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("docker"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0 && !args[0].equals("rm")) {
            throw new IllegalStateException(String.join(" ", cmd) + ": " + out);
        }
        return out;
    }
}
