package gpufleet.bench;

import gpufleet.control.ControlApi;
import gpufleet.control.config.ControlApiConfig;
import gpufleet.control.config.SealKey;
import gpufleet.host.agent.Agent;
import gpufleet.host.agent.AgentConfig;
import gpufleet.host.agent.ControlApiClient;
import gpufleet.host.docker.DockerRuntime;
import gpufleet.host.nvml.NvmlGpuInventory;
import gpufleet.tenant.agent.TenantAgent;
import gpufleet.tenant.agent.TenantAgentConfig;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Time from a pod bound to k8s.gpu (nodeName set, as the scheduler leaves it) to status Running
 * in the API server: tenant-agent, control-api on PostgreSQL, host-agent, real Docker with the
 * image present. The API server is fabric8's mock server (CRUD), the only one that runs here.
 */
final class PodStartBench {
    private static final String TOKEN = BenchApi.OPERATOR_TOKEN;

    private PodStartBench() {}

    static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 30;
        String sim = Path.of(args.length > 1 ? args[1] : "host-agent/target/nvml-sim/libnvidia-ml-sim.so").toAbsolutePath().toString();
        Db db = Db.fromEnvironment();
        db.recreate("gpufleet_bench_pods");
        Map<String, String> v = new HashMap<>(ControlApiConfig.DEFAULTS);
        v.put(SealKey.FILE_VARIABLE, Db.sealKeyFile().toString());
        v.put("GPUFLEET_DB_URL", db.url("gpufleet_bench_pods"));
        v.put("GPUFLEET_DB_USER", db.user());
        v.put("GPUFLEET_DB_PASSWORD", db.password());
        v.put("GPUFLEET_LISTEN", "127.0.0.1:0");
        v.put("GPUFLEET_METRICS_LISTEN", "127.0.0.1:0"); // beside a running dev/run.sh
        v.put("GPUFLEET_OPERATOR_TOKEN", TOKEN);
        KubernetesMockServer server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                new KubernetesCrudDispatcher(), false);
        server.init();
        HttpClient http = HttpClient.newHttpClient();
        try (ControlApi api = ControlApi.start(ControlApiConfig.from(v)); KubernetesClient k8s = server.createClient()) {
            String base = "http://127.0.0.1:" + api.port();
            post(http, base + "/v1/offerings", "{\"name\":\"bench-1x\",\"gpuModel\":\"NVIDIA RTX A6000\",\"gpuCount\":1,\"cpu\":\"1\",\"memory\":\"1Gi\"}");
            post(http, base + "/v1/tenants", "{\"name\":\"bench\",\"offerings\":[\"bench-1x\"]}");
            String tenantToken = field(post(http, base + "/v1/tenants/bench/tokens", "{}"), "token");
            String join = field(post(http, base + "/v1/join-tokens", "{\"ttl\":\"1h\"}"), "token");
            Map<String, String> hostEnv = new HashMap<>(Map.of("GPUFLEET_CONTROL_API_URL", base, "GPUFLEET_JOIN_TOKEN", join,
                    "GPUFLEET_STATE_DIR", Files.createTempDirectory("pod-bench").toString(), "GPUFLEET_NVML_LIBRARY", sim,
                    "GPUFLEET_METRICS_LISTEN", "127.0.0.1:0", "GPUFLEET_RESERVED_CPU", "0", "GPUFLEET_RESERVED_MEMORY", "0"));
            hostEnv.put("GPUFLEET_STREAM_PORT", "0");
            AgentConfig hc = AgentConfig.fromEnvironment(hostEnv, "bench-pods");
            TenantAgentConfig tc = TenantAgentConfig.fromEnvironment(Map.of("GPUFLEET_CONTROL_API_URL", base,
                    "GPUFLEET_TENANT_TOKEN", tenantToken));
            try (Agent host = new Agent(hc, new ControlApiClient(hc.controlApi()), () -> new NvmlGpuInventory(sim),
                    new DockerRuntime(hc.dockerHost(), hc.runtime()), e -> { });
                 TenantAgent tenant = startTenant(tc, k8s, host)) {
                // One warm-up pod (not counted): the JIT, the first image lookup, the tenant's first sandbox.
                long[] all = new long[n + 1];
                for (int i = 0; i <= n; i++) {
                    String name = "pod-" + i;
                    long t0 = System.nanoTime();
                    String uid = k8s.pods().inNamespace("default").resource(new PodBuilder().withNewMetadata().withName(name).withNamespace("default")
                            .endMetadata().withNewSpec().withNodeName("k8s.gpu").withRuntimeClassName("bench-1x")
                            .withTerminationGracePeriodSeconds(0L).addNewContainer().withName("main").withImage("gpufleet/busybox:test")
                            .withCommand("sleep", "3600").withNewResources().addToLimits("cpu", new Quantity("100m"))
                            .addToLimits("memory", new Quantity("64Mi")).endResources().endContainer().endSpec().build()).create()
                            .getMetadata().getUid();
                    while (!running(k8s.pods().inNamespace("default").withName(name).get())) {
                        Thread.sleep(5);
                    }
                    all[i] = System.nanoTime() - t0;
                    k8s.pods().inNamespace("default").withName(name).delete();
                    // Wait for the GPU to come back before the next pod: one GPU in use at a time.
                    while (!http.send(HttpRequest.newBuilder(URI.create(base + "/v1/tenants/bench/workloads/"
                                    + uid)).header("Authorization", "Bearer " + TOKEN).build(),
                            HttpResponse.BodyHandlers.ofString()).body().contains("\"deleted\"")) {
                        Thread.sleep(20);
                    }
                }
                System.out.printf("pod created (nodeName set) to Running in the API server, %d pods after 1 warm-up,"
                        + " real Docker, image present:%n", n);
                System.out.println(Stats.afterWarmUp(all, 2000));
            }
        } finally {
            server.destroy();
            db.drop("gpufleet_bench_pods");
        }
    }

    private static boolean running(Pod p) {
        return p != null && p.getStatus() != null && "Running".equals(p.getStatus().getPhase());
    }

    private static TenantAgent startTenant(TenantAgentConfig tc, KubernetesClient k8s, Agent host) throws InterruptedException {
        host.start();
        TenantAgent t = new TenantAgent(tc, k8s);
        while (k8s.runtimeClasses().withName("bench-1x").get() == null) {
            Thread.sleep(100);
        }
        Thread.sleep(2000); // the host's GPUs reported and the node synced once more
        return t;
    }

    private static String post(HttpClient http, String url, String body) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer " + TOKEN)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() >= 300) {
            throw new IllegalStateException(url + ": " + r.body());
        }
        return r.body();
    }

    private static String field(String json, String name) {
        return json.replaceAll(".*\"" + name + "\":\"([^\"]+)\".*", "$1");
    }
}
