package gpufleet.bench;

import gpufleet.control.ControlApi;
import gpufleet.control.config.ControlApiConfig;
import gpufleet.control.config.SealKey;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Requests per second and latency through the Caddy edge beside the same requests straight to the
 * container, in one run, with one client (wrk) and HTTP/1.1 keep-alive on every hop: a Caddy
 * container (gpufleet/web:test) answering "It works!" over HTTP on 8080 and HTTPS on 8443, routed
 * as the seed's Service is. The headline pair speaks HTTPS to the client on both paths (the edge
 * terminates TLS and proxies to 8080; the direct path is the container's own TLS on 8443); plain
 * HTTP straight to 8080 is shown as a breakdown of what TLS costs. Client, edge and container share
 * this machine's CPU, so each path's CPU time per request is printed beside it.
 */
final class EdgeBench {
    static final String CONTAINER = "gpufleet-bench-edge";
    static final String IMAGE = "gpufleet/web:test";
    static final int HTTPS = 8443;
    static final int ADMIN_PORT = 2019;

    private record Path(String label, Wrk.Result r, double edgeCpu, double backendCpu, double machineCpu) {
        double micros(double cpuSeconds) {
            return cpuSeconds * 1e6 / r.requests();
        }
    }

    private EdgeBench() {}

    static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 15;
        int connections = args.length > 1 ? Integer.parseInt(args[1]) : 16;
        Db db = Db.fromEnvironment();
        db.recreate("gpufleet_bench_edge");
        docker("rm", "-f", CONTAINER);
        docker("run", "-d", "--name", CONTAINER, IMAGE);
        String ip = docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", CONTAINER).trim();
        long backendPid = Long.parseLong(docker("inspect", "-f", "{{.State.Pid}}", CONTAINER).trim());
        Map<String, String> v = new HashMap<>(ControlApiConfig.DEFAULTS);
        v.put(SealKey.FILE_VARIABLE, Db.sealKeyFile().toString());
        v.put("GPUFLEET_METRICS_LISTEN", "127.0.0.1:0"); // beside a running dev/run.sh
        v.putAll(Map.of("GPUFLEET_DB_URL", db.url("gpufleet_bench_edge"), "GPUFLEET_DB_USER", db.user(),
                "GPUFLEET_DB_PASSWORD", db.password(), "GPUFLEET_LISTEN", "127.0.0.1:0", "GPUFLEET_OPERATOR_TOKEN", PlacementBench.TOKEN,
                "GPUFLEET_EDGE_ADMIN_URL", "http://127.0.0.1:" + ADMIN_PORT, "GPUFLEET_EDGE_HTTPS_PORT", Integer.toString(HTTPS),
                "GPUFLEET_EDGE_DOMAIN", "bench.test", "GPUFLEET_EDGE_SYNC_INTERVAL", "300ms"));
        // The seeded host sends no heartbeats: keep it ready for the whole run.
        v.put("GPUFLEET_HEARTBEAT_GRACE", "10m");
        v.put("GPUFLEET_LOST_AFTER", "20m");
        try (ControlApi api = ControlApi.start(ControlApiConfig.from(v))) {
            String name = publish("http://127.0.0.1:" + api.port(), db, ip);
            waitFor("127.0.0.1", HTTPS, name);
            waitFor(ip, 8443, "web.test");
            long edgePid = edgePid();
            List<Path> paths = List.of(
                    measure("direct HTTPS (the container's own TLS)", "https://web.test:8443/", ip, connections, seconds, edgePid, backendPid),
                    measure("edge HTTPS -> container HTTP", "https://" + name + ":" + HTTPS + "/", "127.0.0.1", connections, seconds,
                            edgePid, backendPid),
                    measure("direct HTTP (breakdown: no TLS)", "http://web.test:8080/", ip, connections, seconds, edgePid, backendPid));
            print(paths, connections, seconds);
        } finally {
            docker("rm", "-f", CONTAINER);
            db.drop("gpufleet_bench_edge");
        }
    }

    /** A tenant, a workload reported running with port 8080 at the container, and a route to it; returns its public name. */
    private static String publish(String base, Db db, String ip) throws Exception {
        FleetSeed.SeededHost host;
        try (Connection c = db.connect("gpufleet_bench_edge")) {
            host = FleetSeed.seed(c, 1, 8).get(0);
        }
        String tenant = PlacementBench.setup(base, host.model());
        String id = PlacementBench.post(base + "/v1/tenants/bench/workloads", tenant, Map.of("podUid", "web", "namespace", "bench",
                "name", "web", "offering", "bench-1x", "containers", List.of(Map.of("name", "web", "image", IMAGE,
                        "resources", Map.of("gpus", 1, "cpu", "1", "memory", "1Gi"))))).get("id").asText();
        // The container stands in for the host: the operator registers its address, where published ports must be.
        put(base + "/v1/hosts/" + host.id() + "/address", PlacementBench.TOKEN, "{\"address\":\"" + ip + "\"}");
        put(base + "/v1/hosts/" + host.id() + "/workloads/" + id + "/status", host.token(), "{\"generation\":1,\"containers\":"
                + "[{\"name\":\"web\",\"state\":\"running\",\"ready\":true}],\"ports\":{\"8080\":\"" + ip + ":8080\"}}");
        return put(base + "/v1/tenants/bench/routes/be9c0000-0000-4000-8000-0000000be9c0", tenant,
                "{\"namespace\":\"bench\",\"name\":\"web\",\"port\":80,\"targets\":[{\"podUid\":\"web\",\"port\":8080}]}")
                .replaceAll(".*\"hostname\":\"([^\"]+)\".*", "$1");
    }

    /** A 2 s warm-up, then the timed run, with the CPU time the edge, the container and the whole machine used meanwhile. */
    private static Path measure(String label, String url, String address, int connections, int seconds, long edgePid, long backendPid)
            throws Exception {
        Map<String, String> env = Map.of("EDGE_ADDR", address);
        Wrk.run("edge.lua", url, connections, 2, null, env);
        double edge0 = ProcStats.cpuSeconds(edgePid);
        double backend0 = ProcStats.cpuSeconds(backendPid);
        double machine0 = ProcStats.machineCpuSeconds();
        Wrk.Result r = Wrk.run("edge.lua", url, connections, seconds, null, env);
        return new Path(label, r, ProcStats.cpuSeconds(edgePid) - edge0, ProcStats.cpuSeconds(backendPid) - backend0,
                ProcStats.machineCpuSeconds() - machine0);
    }

    private static void print(List<Path> paths, int connections, int seconds) {
        System.out.printf("edge: GET / (\"It works!\") over HTTP/1.1 keep-alive, wrk with %d connections, %d s each, %d cores:%n",
                connections, seconds, Runtime.getRuntime().availableProcessors());
        System.out.printf("  %-40s %10s %8s %8s %6s | %-34s%n", "", "per second", "p50 ms", "p99 ms", "errors",
                "CPU us per request: wrk edge container other");
        for (Path p : paths) {
            double other = p.machineCpu() - p.r().cpuSeconds() - p.edgeCpu() - p.backendCpu();
            System.out.printf("  %-40s %10.0f %8.2f %8.2f %6d | %24.0f %4.0f %9.0f %5.0f%n", p.label(), p.r().perSecond(),
                    p.r().p50Millis(), p.r().p99Millis(), p.r().errors(), p.micros(p.r().cpuSeconds()), p.micros(p.edgeCpu()),
                    p.micros(p.backendCpu()), p.micros(other));
        }
        Wrk.Result direct = paths.get(0).r();
        Wrk.Result edge = paths.get(1).r();
        System.out.printf("  edge / direct (both HTTPS): %.2fx requests per second, p50 %.2fx, p99 %.2fx; machine CPU per request %.2fx%n",
                edge.perSecond() / direct.perSecond(), edge.p50Millis() / direct.p50Millis(), edge.p99Millis() / direct.p99Millis(),
                paths.get(1).micros(paths.get(1).machineCpu()) / paths.get(0).micros(paths.get(0).machineCpu()));
    }

    /** The Caddy that serves the admin API the control-api pushes to (dev/services.sh starts it). */
    private static long edgePid() throws Exception {
        Process p = new ProcessBuilder("ss", "-Hltnp", "sport = :" + ADMIN_PORT).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        Matcher m = Pattern.compile("pid=(\\d+)").matcher(out);
        if (!m.find()) {
            throw new IllegalStateException("no process listens on Caddy's admin port " + ADMIN_PORT + ": " + out);
        }
        return Long.parseLong(m.group(1));
    }

    /** Waits for https://NAME:PORT/ at ADDRESS to answer 200 (curl, as dev/services.sh installs it). */
    private static void waitFor(String address, int port, String name) throws Exception {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (true) {
            Process p = new ProcessBuilder("curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2",
                    "--resolve", name + ":" + port + ":" + address, "https://" + name + ":" + port + "/").start();
            String code = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() == 0 && code.equals("200")) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("https://" + name + ":" + port + " at " + address + " did not answer 200 within 60 s");
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
        List<String> cmd = new ArrayList<>(List.of("docker"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0 && !args[0].equals("rm")) {
            throw new IllegalStateException(String.join(" ", cmd) + ": " + out);
        }
        return out;
    }
}
