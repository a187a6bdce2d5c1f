package gpufleet.bench;

import gpufleet.control.ControlApi;
import gpufleet.control.config.ControlApiConfig;
import gpufleet.host.agent.Agent;
import gpufleet.host.agent.AgentConfig;
import gpufleet.host.agent.ControlApiClient;
import gpufleet.host.docker.DockerRuntime;
import gpufleet.host.nvml.NvmlGpuInventory;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.crud.AttributeSet;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Collectors;

/**
 * The tenant-agent in a large cluster (issue #19): fabric8's mock API server holding 5,000 pods in
 * 50 namespaces with their ConfigMaps and Secrets, 200 of the pods bound to k8s.gpu; the agent is
 * its own jar in a process of its own with the production JVM flags, so its CPU is read from /proc
 * while nothing changes, beside an idle JVM with the same flags. Then a pod's start (creation to
 * Running in the API server, on a real host-agent and the Docker Engine) with 10 pods on the node
 * and with 200. The node's other pods run on simulated hosts ({@link SimHosts}).
 */
final class TenantScaleBench {
    /**
     * The tenant-agent's JVM as its image runs it in the install's 512Mi limit: 75% of it for the
     * heap (dev/images.sh), and the serial collector the JVM picks itself below 2 CPUs or 1792 MB.
     */
    static final List<String> AGENT_JVM = List.of("-Xmx384m", "-XX:+UseSerialGC");
    private static final String TOKEN = PlacementBench.TOKEN;
    private static final String DATABASE = "gpufleet_bench_tscale";
    private static final int NAMESPACES = 50;
    private static final String SIM_MODEL = "NVIDIA H100 80GB HBM3";
    /** Held here: java.util.logging keeps loggers weakly, and a collected one forgets its level. */
    private static final Logger MOCK_LOG = Logger.getLogger("io.fabric8.mockwebserver");
    private static final long START = System.nanoTime();

    private TenantScaleBench() {}

    static void main(String[] args) throws Exception {
        int clusterPods = args.length > 0 ? Integer.parseInt(args[0]) : 5000;
        int nodePods = args.length > 1 ? Integer.parseInt(args[1]) : 200;
        int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 60;
        int timed = args.length > 3 ? Integer.parseInt(args[3]) : 15;
        String sim = Path.of(args.length > 4 ? args[4] : "host-agent/target/nvml-sim/libnvidia-ml-sim.so").toAbsolutePath().toString();
        Db db = Db.fromEnvironment();
        db.recreate(DATABASE);
        Path dir = Files.createTempDirectory("tenant-scale");
        // The mock logs every request through java.util.logging: thousands here.
        MOCK_LOG.setLevel(Level.WARNING);
        KubernetesCrudDispatcher store = new KubernetesCrudDispatcher();
        KubernetesMockServer server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), store, false);
        server.init();
        Process agent = null;
        Process idle = null;
        try (ControlApi api = ControlApi.start(ControlApiConfig.from(BenchApi.config(db, DATABASE)));
             KubernetesClient k8s = server.createClient()) {
            String base = "http://127.0.0.1:" + api.port();
            PlacementBench.post(base + "/v1/offerings", TOKEN, Map.of("name", "bench-1x", "gpuModel", "NVIDIA RTX A6000",
                    "gpuCount", 1, "cpu", "1", "memory", "1Gi"));
            PlacementBench.post(base + "/v1/offerings", TOKEN, Map.of("name", "steady-1x", "gpuModel", SIM_MODEL,
                    "gpuCount", 1, "cpu", "1", "memory", "1Gi"));
            PlacementBench.post(base + "/v1/tenants", TOKEN, Map.of("name", "bench", "offerings", List.of("bench-1x", "steady-1x")));
            String tenantToken = PlacementBench.post(base + "/v1/tenants/bench/tokens", TOKEN, Map.of("description", "bench"))
                    .get("token").asText();
            List<FleetSeed.SeededHost> seeded;
            try (Connection c = db.connect(DATABASE)) {
                seeded = FleetSeed.seed(c, (nodePods + 7) / 8, 8, SIM_MODEL);
            }
            String join = PlacementBench.post(base + "/v1/join-tokens", TOKEN, Map.of("ttl", "1h")).get("token").asText();
            Map<String, String> hostEnv = new HashMap<>(Map.of("GPUFLEET_CONTROL_API_URL", base, "GPUFLEET_JOIN_TOKEN", join,
                    "GPUFLEET_STATE_DIR", dir.resolve("host").toString(), "GPUFLEET_NVML_LIBRARY", sim,
                    "GPUFLEET_METRICS_LISTEN", "127.0.0.1:0", "GPUFLEET_RESERVED_CPU", "0", "GPUFLEET_RESERVED_MEMORY", "0"));
            hostEnv.put("GPUFLEET_STREAM_PORT", "0");
            AgentConfig hc = AgentConfig.fromEnvironment(hostEnv, "bench-tscale");
            phase("control-api and " + seeded.size() + " simulated hosts seeded");
            long t0 = System.nanoTime();
            populate(k8s, store, clusterPods, nodePods);
            System.out.printf("cluster: %d pods (the node's first 10 among them) in %d namespaces (%d ConfigMaps, %d Secrets,"
                    + " %d Services) written in %.1f s%n",
                    k8s.pods().inAnyNamespace().list().getItems().size(), NAMESPACES,
                    k8s.configMaps().inAnyNamespace().list().getItems().size(), k8s.secrets().inAnyNamespace().list().getItems().size(),
                    k8s.services().inAnyNamespace().list().getItems().size(), (System.nanoTime() - t0) / 1e9);
            try (SimHosts sims = new SimHosts(base, seeded);
                 Agent host = new Agent(hc, new ControlApiClient(hc.controlApi()), () -> new NvmlGpuInventory(sim),
                         new DockerRuntime(hc.dockerHost(), hc.runtime()), e -> { })) {
                host.start();
                phase("simulated hosts and the real host-agent started");
                agent = startAgent(k8s, base, tenantToken, dir);
                idle = new ProcessBuilder(concat(AGENT_JVM, "-cp", System.getProperty("java.class.path"), Idle.class.getName()))
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                awaitRunning(k8s, "steady-", 10, 120, agent, dir);
                phase("tenant-agent started, 10 pods on the node running");
                Thread.sleep(3000); // the real host's GPUs reported and the node synced once more
                long[] at10 = PodStarts.timed(k8s, base, TOKEN, timed);
                for (int i = 10; i < nodePods; i++) {
                    k8s.pods().inNamespace(ns(i)).resource(nodePod(i)).create();
                }
                phase("pod starts timed with 10 pods on the node");
                awaitRunning(k8s, "steady-", nodePods, 180, agent, dir);
                phase(nodePods + " pods on the node running");
                Thread.sleep(10_000); // the last writes settle
                double agentCpu0 = ProcStats.cpuSeconds(agent.pid());
                double idleCpu0 = ProcStats.cpuSeconds(idle.pid());
                Map<String, Double> threads0 = ProcStats.threadCpuSeconds(agent.pid());
                Thread.sleep(seconds * 1000L);
                Map<String, Double> threads = ProcStats.threadCpuSeconds(agent.pid());
                double agentCpu = (ProcStats.cpuSeconds(agent.pid()) - agentCpu0) / seconds * 100;
                double idleCpu = (ProcStats.cpuSeconds(idle.pid()) - idleCpu0) / seconds * 100;
                long rss = ProcStats.rssKib(agent.pid());
                int inCluster = k8s.pods().inAnyNamespace().list().getItems().size();
                long[] at200 = PodStarts.timed(k8s, base, TOKEN, timed);
                System.out.printf("%ntenant-agent (own process, JVM %s) with %d pods in the cluster, %d on k8s.gpu:%n",
                        String.join(" ", AGENT_JVM), inCluster, nodePods);
                System.out.printf("  CPU over %d s, nothing changing:  %.2f %% of a core   (target < 2 %%), RSS %.0f MB%n",
                        seconds, agentCpu, rss / 1024.0);
                System.out.printf("  baseline, idle JVM, same flags:   %.2f %% of a core%n", idleCpu);
                System.out.printf("  the agent's busiest threads: %s%n", busiest(threads0, threads, seconds));
                System.out.printf("  pod start (created to Running in the API server, real host-agent + Docker), %d pods after"
                        + " 1 warm-up each:%n", timed);
                System.out.printf("    with 10 pods on the node:  %s%n", Stats.afterWarmUp(at10, 3000).trim());
                System.out.printf("    with %d pods on the node: %s%n", nodePods, Stats.afterWarmUp(at200, 3000).trim());
            }
        } finally {
            if (agent != null) {
                agent.destroy();
            }
            if (idle != null) {
                idle.destroy();
            }
            server.destroy();
            db.drop(DATABASE);
        }
    }

    private static void phase(String what) {
        System.out.printf("  [%5.1f s] %s%n", (System.nanoTime() - START) / 1e9, what);
    }


    static String ns(int i) {
        return "team-" + String.format("%02d", i % NAMESPACES);
    }

    /**
     * What a cluster of that size holds: per namespace the root CA ConfigMap, a service account's
     * token Secret, 10 application ConfigMaps and 10 Secrets, 10 Services; pods spread over 40 other
     * nodes, running; the first 10 of k8s.gpu's pods, every other one mounting a ConfigMap and a
     * Secret.
     */
    private static void populate(KubernetesClient k8s, KubernetesCrudDispatcher store, int clusterPods, int nodePods) {
        for (int n = 0; n < NAMESPACES; n++) {
            String ns = ns(n);
            k8s.configMaps().inNamespace(ns).resource(new ConfigMapBuilder().withNewMetadata().withName("kube-root-ca.crt")
                    .endMetadata().addToData("ca.crt", "-----BEGIN CERTIFICATE-----\n" + "A".repeat(1200)).build()).create();
            k8s.secrets().inNamespace(ns).resource(new SecretBuilder().withNewMetadata().withName("default-token").endMetadata()
                    .addToStringData("token", "t".repeat(900)).build()).create();
            for (int i = 0; i < 10; i++) {
                k8s.configMaps().inNamespace(ns).resource(new ConfigMapBuilder().withNewMetadata().withName("app-config-" + i)
                        .endMetadata().addToData("app.yaml", "key: value\n".repeat(40)).build()).create();
                k8s.secrets().inNamespace(ns).resource(new SecretBuilder().withNewMetadata().withName("app-secret-" + i)
                        .endMetadata().addToStringData("password", "p".repeat(32)).build()).create();
                k8s.services().inNamespace(ns).resource(new ServiceBuilder().withNewMetadata().withName("web-" + i).endMetadata()
                        .withNewSpec().withType("ClusterIP").addToSelector("app", "web-" + i).addNewPort().withPort(80).endPort()
                        .endSpec().build()).create();
            }
        }
        for (int i = 0; i < clusterPods - nodePods; i++) {
            Pod p = new PodBuilder().withNewMetadata().withName("web-" + i).withNamespace(ns(i)).addToLabels("app", "web-" + i % 97)
                    .endMetadata().withNewSpec().withNodeName("node-" + i % 40).addNewContainer().withName("web")
                    .withImage("team/web:1.4." + i % 7).withNewResources().addToRequests("cpu", new Quantity("100m"))
                    .endResources().endContainer().endSpec().withNewStatus().withPhase("Running").withPodIP("10.1." + i / 250 + "."
                    + i % 250).endStatus().build();
            // Into the mock's store directly: through its API each create scans every object (minutes for 5,000).
            p.getMetadata().setUid(UUID.randomUUID().toString());
            p.getMetadata().setResourceVersion("1");
            p.getMetadata().setCreationTimestamp("2026-01-01T00:00:00Z");
            String json = Serialization.asJson(p);
            store.getMap().put(AttributeSet.merge(store.getKey("/api/v1/namespaces/" + ns(i) + "/pods"),
                    store.getAttributeExtractor().fromResource(json)), json);
        }
        for (int i = 0; i < Math.min(10, nodePods); i++) {
            k8s.pods().inNamespace(ns(i)).resource(nodePod(i)).create();
        }
    }

    static Pod nodePod(int i) {
        PodBuilder b = new PodBuilder().withNewMetadata().withName("steady-" + i).withNamespace(ns(i)).addToLabels("app", "steady")
                .endMetadata().withNewSpec().withNodeName("k8s.gpu").withRuntimeClassName("steady-1x")
                .withTerminationGracePeriodSeconds(0L).addNewContainer().withName("main").withImage("gpufleet/busybox:test")
                .withCommand("sleep", "infinity").withNewResources().addToLimits("cpu", new Quantity("1"))
                .addToLimits("memory", new Quantity("1Gi")).endResources().endContainer().endSpec();
        if (i % 2 == 0) {
            b.editSpec().editFirstContainer().addNewVolumeMount().withName("config").withMountPath("/etc/app").endVolumeMount()
                    .addNewVolumeMount().withName("creds").withMountPath("/etc/creds").endVolumeMount().endContainer()
                    .addNewVolume().withName("config").withNewConfigMap().withName("app-config-" + i % 10).endConfigMap().endVolume()
                    .addNewVolume().withName("creds").withNewSecret().withSecretName("app-secret-" + i % 10).endSecret().endVolume()
                    .endSpec();
        }
        return b.build();
    }

    /** The tenant-agent's own jar in a process of its own, production flags and defaults, on the mock behind {@code k8s}. */
    static Process startAgent(KubernetesClient k8s, String base, String tenantToken, Path dir)
            throws Exception {
        Path kubeconfig = dir.resolve("kubeconfig");
        Files.writeString(kubeconfig, """
                apiVersion: v1
                kind: Config
                clusters: [{name: mock, cluster: {server: "%s"}}]
                users: [{name: bench, user: {token: bench}}]
                contexts: [{name: mock, context: {cluster: mock, user: bench}}]
                current-context: mock
                """.formatted(k8s.getConfiguration().getMasterUrl()));
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        ProcessBuilder pb = new ProcessBuilder(concat(AGENT_JVM, "-jar", "tenant-agent/target/tenant-agent-0.1.0-SNAPSHOT-all.jar", "run"))
                .redirectErrorStream(true).redirectOutput(dir.resolve("tenant-agent.log").toFile());
        pb.environment().putAll(Map.of("GPUFLEET_CONTROL_API_URL", base, "GPUFLEET_TENANT_TOKEN", tenantToken,
                "KUBECONFIG", kubeconfig.toString(), "GPUFLEET_KUBELET_TLS", "off", "GPUFLEET_KUBELET_PORT", String.valueOf(port),
                "GPUFLEET_KUBELET_BIND_ADDRESS", "127.0.0.1", "GPUFLEET_CLUSTER_ID", "bench"));
        return pb.start();
    }

    /** The five threads (by name) that used the most CPU between two readings, in % of a core. */
    static String busiest(Map<String, Double> before, Map<String, Double> after, int seconds) {
        return after.entrySet().stream()
                .map(e -> Map.entry(e.getKey(), (e.getValue() - before.getOrDefault(e.getKey(), 0.0)) / seconds * 100))
                .sorted(Map.Entry.<String, Double>comparingByValue().reversed()).limit(5)
                .map(e -> String.format("%s %.2f %%", e.getKey(), e.getValue())).collect(Collectors.joining(", "));
    }

    private static void awaitRunning(KubernetesClient k8s, String prefix, int n, int seconds, Process agent, Path dir) throws Exception {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (true) {
            long up = k8s.pods().inAnyNamespace().withLabel("app", "steady").list().getItems().stream()
                    .filter(p -> p.getMetadata().getName().startsWith(prefix) && PodStarts.running(p)).count();
            if (up >= n) {
                return;
            }
            if (System.nanoTime() > deadline || !agent.isAlive()) {
                throw new IllegalStateException(up + " of " + n + " node pods running after " + seconds + " s; the agent's log:\n"
                        + tail(Files.readString(dir.resolve("tenant-agent.log"))));
            }
            Thread.sleep(500);
        }
    }

    private static String tail(String log) {
        return log.length() > 4000 ? log.substring(log.length() - 4000) : log;
    }

    static List<String> concat(List<String> flags, String... rest) {
        List<String> out = new ArrayList<>();
        out.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        out.addAll(flags);
        out.addAll(List.of(rest));
        return out;
    }
}
