package gpufleet.bench;

import gpufleet.control.ControlApi;
import gpufleet.control.config.ControlApiConfig;
import gpufleet.control.config.SealKey;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The images (dev/images.sh): their sizes, and how long each program takes from `docker run` to
 * its health endpoint answering 200, beside the same jar started with `java -jar` on the host in
 * the same run (the baseline: what the container adds). The control-api on the machine's
 * PostgreSQL; the tenant-agent against fabric8's mock API server and a control-api in this JVM,
 * "healthy" being /readyz (its node written). Containers run as production runs them: host
 * network, read-only root, a memory limit (1 GiB; the tenant-agent 512 MiB, its install's limit).
 *
 *   java -jar bench/target/bench-*-all.jar images [RUNS]      (default 3 runs of each)
 */
final class ImageBench {
    private static final String DATABASE = "gpufleet_bench_images";
    private static final int UID = 65532;
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private ImageBench() {}

    static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        // The version this bench jar was built as (its manifest): the images and jars of the same build.
        String version = ImageBench.class.getPackage().getImplementationVersion();
        if (version == null) {
            throw new IllegalStateException("run it from the bench jar (its manifest names the version of the images to measure)");
        }
        System.out.println("image sizes (docker image inspect .Size; the layer a new version ships = image - base):");
        long base = size("gpufleet/jre17-base:1");
        System.out.printf("  %-38s %6.1f MB%n", "gpufleet/jre17-base:1", base / 1e6);
        for (String p : List.of("control-api", "host-agent", "tenant-agent")) {
            long s = size("gpufleet/" + p + ":" + version);
            System.out.printf("  %-38s %6.1f MB  (its own layer %5.1f MB; the jar %5.1f MB)%n", "gpufleet/" + p + ":" + version, s / 1e6,
                    (s - base) / 1e6, Files.size(jar(p, version)) / 1e6);
        }
        Db db = Db.fromEnvironment();
        Path dir = Files.createTempDirectory("gpufleet-image-bench");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path seal = Files.copy(Db.sealKeyFile(), dir.resolve("seal.key"));
        Files.setPosixFilePermissions(seal, PosixFilePermissions.fromString("rw-------"));
        Files.setAttribute(seal, "unix:uid", UID);
        // control-api: a fresh database each start, so every start migrates the same empty schema.
        List<Double> image = new ArrayList<>();
        List<Double> jvm = new ArrayList<>();
        for (int i = 0; i < runs; i++) {
            db.recreate(DATABASE);
            int port = freePort();
            Map<String, String> env = new HashMap<>(BenchApi.config(db, DATABASE));
            env.put("GPUFLEET_LISTEN", "127.0.0.1:" + port);
            env.put("GPUFLEET_METRICS_LISTEN", "127.0.0.1:" + freePort());
            env.put(SealKey.FILE_VARIABLE, "/run/gpufleet/seal.key");
            image.add(container("gpufleet/control-api:" + version, "1g", env, seal + ":/run/gpufleet/seal.key:ro", port, "/healthz"));
            db.recreate(DATABASE);
            env.put(SealKey.FILE_VARIABLE, Db.sealKeyFile().toString());
            jvm.add(process(jar("control-api", version), env, port, "/healthz"));
        }
        report("control-api", image, jvm);
        Logger.getLogger("io.fabric8.mockwebserver").setLevel(Level.WARNING);
        KubernetesMockServer k8s = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                new KubernetesCrudDispatcher(), false);
        k8s.init();
        image.clear();
        jvm.clear();
        try (ControlApi api = ControlApi.start(ControlApiConfig.from(BenchApi.config(db, DATABASE)))) {
            String url = "http://127.0.0.1:" + api.port();
            PlacementBench.post(url + "/v1/offerings", BenchApi.OPERATOR_TOKEN, Map.of("name", "bench-1x", "gpuModel", "NVIDIA RTX A6000",
                    "gpuCount", 1, "cpu", "1", "memory", "1Gi"));
            PlacementBench.post(url + "/v1/tenants", BenchApi.OPERATOR_TOKEN, Map.of("name", "bench", "offerings", List.of("bench-1x")));
            String token = PlacementBench.post(url + "/v1/tenants/bench/tokens", BenchApi.OPERATOR_TOKEN, Map.of("description", "bench"))
                    .get("token").asText();
            Path kubeconfig = Files.writeString(dir.resolve("kubeconfig"), """
                    apiVersion: v1
                    kind: Config
                    clusters: [{name: mock, cluster: {server: "http://127.0.0.1:%d"}}]
                    users: [{name: agent, user: {token: mock}}]
                    contexts: [{name: mock, context: {cluster: mock, user: agent, namespace: default}}]
                    current-context: mock
                    """.formatted(k8s.getPort()));
            Files.setPosixFilePermissions(kubeconfig, PosixFilePermissions.fromString("rw-r--r--"));
            for (int i = 0; i < runs; i++) {
                int health = freePort();
                Map<String, String> env = new HashMap<>(Map.of("GPUFLEET_CONTROL_API_URL", url, "GPUFLEET_TENANT_TOKEN", token,
                        "GPUFLEET_KUBELET_TLS", "off", "GPUFLEET_KUBELET_PORT", Integer.toString(freePort()),
                        "GPUFLEET_KUBELET_BIND_ADDRESS", "127.0.0.1", "GPUFLEET_HEALTH_PORT", Integer.toString(health),
                        "KUBECONFIG", "/run/gpufleet/kubeconfig"));
                image.add(container("gpufleet/tenant-agent:" + version, "512m", env, kubeconfig + ":/run/gpufleet/kubeconfig:ro",
                        health, "/readyz"));
                env.put("KUBECONFIG", kubeconfig.toString());
                jvm.add(process(jar("tenant-agent", version), env, health, "/readyz"));
            }
        } finally {
            k8s.destroy();
        }
        report("tenant-agent", image, jvm);
        db.drop(DATABASE);
    }

    private static void report(String program, List<Double> image, List<Double> jvm) {
        System.out.printf("%s start to healthy: image %s s, java -jar on the host (baseline) %s s%n", program, list(image), list(jvm));
    }

    private static String list(List<Double> seconds) {
        return String.join(" / ", seconds.stream().map(s -> String.format("%.2f", s)).toList());
    }

    /** Seconds from `docker run` to a 200 on the health path; the container is removed after. */
    private static double container(String image, String memory, Map<String, String> env, String volume, int port, String path)
            throws Exception {
        String name = "gf-imgbench-" + port;
        List<String> cmd = new ArrayList<>(List.of("docker", "run", "-d", "--rm", "--name", name, "--label", "org.gpufleet.bench=images",
                "--network", "host", "--read-only", "--cap-drop", "ALL", "--memory", memory, "-v", volume));
        env.forEach((k, v) -> cmd.addAll(List.of("-e", k + "=" + v)));
        cmd.add(image);
        long t0 = System.nanoTime();
        Process docker = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            return untilHealthy(t0, port, path, () -> docker.isAlive() || docker.exitValue() == 0, image);
        } finally {
            new ProcessBuilder("docker", "rm", "-f", name).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start().waitFor();
        }
    }

    /** Seconds from the start of `java -jar JAR run` (the image's JVM flags) to a 200 on the health path. */
    private static double process(Path jar, Map<String, String> env, int port, String path) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("java", "-XX:MaxRAMPercentage=75", "-XX:+ExitOnOutOfMemoryError", "-XX:-UsePerfData",
                "-jar", jar.toString(), "run").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().keySet().removeIf(k -> k.startsWith("GPUFLEET_"));
        pb.environment().putAll(env);
        long t0 = System.nanoTime();
        Process p = pb.start();
        try {
            return untilHealthy(t0, port, path, p::isAlive, jar.toString());
        } finally {
            p.destroy();
            p.waitFor();
        }
    }

    private static double untilHealthy(long t0, int port, String path, BooleanSupplier alive, String what)
            throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build();
        while (System.nanoTime() - t0 < 120_000_000_000L) {
            try {
                if (HTTP.send(req, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return (System.nanoTime() - t0) / 1e9;
                }
            } catch (IOException e) {
                // not listening yet
            }
            if (!alive.getAsBoolean()) {
                throw new IllegalStateException(what + " ended before it was healthy");
            }
            Thread.sleep(20);
        }
        throw new IllegalStateException(what + " was not healthy within 120 s");
    }

    private static long size(String image) throws Exception {
        Process p = new ProcessBuilder("docker", "image", "inspect", "--format", "{{.Size}}", image).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes()).strip();
        if (p.waitFor() != 0) {
            throw new IllegalStateException("no image " + image + ": build it with bash dev/images.sh (" + out + ")");
        }
        return Long.parseLong(out);
    }

    private static Path jar(String program, String version) {
        return Path.of(program, "target", program + "-" + version + "-all.jar").toAbsolutePath();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
