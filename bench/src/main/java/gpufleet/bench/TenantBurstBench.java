package gpufleet.bench;

import gpufleet.control.ControlApi;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.apps.ReplicaSet;
import io.fabric8.kubernetes.api.model.apps.ReplicaSetBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A burst through the tenant-agent (issue #19): a Deployment scaled from 0 to 64 on fabric8's mock
 * API server. The mock runs no controllers, so this bench does what the ReplicaSet controller and
 * the scheduler would: 64 pods owned by the Deployment's ReplicaSet, created at once from a thread
 * each, bound to k8s.gpu. A tenant-agent (its own jar and process, production flags and defaults),
 * a control-api on PostgreSQL, and 8 host-agent processes with 8 simulated GPUs each on this
 * machine's Docker Engine (image present) run them; each pod is timed from its create call to
 * Running in the API server's status. Beside it in the same run: the same burst posted to the
 * control-api directly ({@link BurstBench}'s path) and the engine alone making the same 64 pods
 * ({@link EngineBurst}).
 */
final class TenantBurstBench {
    private static final String DATABASE = "gpufleet_bench_tburst";
    private static final String NAMESPACE = "bench";
    private static final Logger MOCK_LOG = Logger.getLogger("io.fabric8.mockwebserver");

    private TenantBurstBench() {}

    static void main(String[] args) throws Exception {
        int hosts = args.length > 0 ? Integer.parseInt(args[0]) : 8;
        int pods = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        String sim = Path.of(args.length > 2 ? args[2] : "host-agent/target/nvml-sim/libnvidia-ml-sim.so").toAbsolutePath().toString();
        Db db = Db.fromEnvironment();
        Path dir = Files.createTempDirectory("tenant-burst");
        MOCK_LOG.setLevel(Level.WARNING);
        KubernetesMockServer server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                new KubernetesCrudDispatcher(), false);
        server.init();
        List<Process> agents = new ArrayList<>();
        Process tenantAgent = null;
        try (ControlApi api = PlacementBench.controlApi(db, DATABASE); KubernetesClient k8s = server.createClient()) {
            String base = "http://127.0.0.1:" + api.port();
            for (int i = 1; i <= hosts; i++) {
                agents.add(BurstBench.agent(base, sim, dir, i));
            }
            String tenant = PlacementBench.setup(base, "NVIDIA RTX A6000");
            for (int i = 1; i <= hosts; i++) {
                BurstBench.awaitFree(base, BurstBench.hostName(i), 8, agents, dir);
            }
            tenantAgent = TenantScaleBench.startAgent(k8s, base, tenant, dir);
            // One pod through the whole path first: the agent's node and classes are up, its code warm.
            long[] warm = PodStarts.timed(k8s, base, PlacementBench.TOKEN, 0);
            System.out.printf("%nburst through the tenant-agent: %d pods of a Deployment scaled 0 -> %d on the mock API server,"
                    + " %d host-agent processes x 8 simulated GPUs on one Docker Engine, image present (warm-up pod %.0f ms)%n",
                    pods, pods, hosts, warm[0] / 1e6);
            Stats stats = burst(k8s, pods, tenantAgent, dir);
            System.out.printf("  from creation to Running in the API server: all %d Running; p50 %.0f ms, p99 %.0f ms, last %.0f ms"
                    + " (target p99 < 3000 ms)%n", pods, stats.percentileMillis(50), stats.percentileMillis(99),
                    stats.percentileMillis(100));
            k8s.pods().inNamespace(NAMESPACE).delete();
            awaitGone(base, tenant);
            // The same burst posted to the control-api directly (issue #23's path), the tenant-agent idle beside it.
            BurstBench.burst(base, tenant, pods);
            // The same pods with the engine alone, every agent still beside it: what is left is ours.
            Stats engine = EngineBurst.run(pods, "gpufleet/pause:test", "gpufleet/busybox:test", "nvidia");
            System.out.printf("  baseline, the Docker Engine alone, the same %d pods at once (pause + container, created and started):"
                    + " p50 %.0f ms, p99 %.0f ms; the burst through the tenant-agent takes %.2fx its p99%n", pods,
                    engine.percentileMillis(50), engine.percentileMillis(99), stats.percentileMillis(99) / engine.percentileMillis(99));
        } finally {
            if (tenantAgent != null) {
                tenantAgent.destroy();
            }
            agents.forEach(Process::destroy);
            for (Process p : agents) {
                p.waitFor();
            }
            server.destroy();
            db.drop(DATABASE);
            System.out.println("  agents' logs: " + dir);
        }
    }

    /** The Deployment and its ReplicaSet at 64, then the ReplicaSet's pods all at once; each timed to Running. */
    private static Stats burst(KubernetesClient k8s, int pods, Process agent, Path dir) throws Exception {
        Deployment d = k8s.apps().deployments().inNamespace(NAMESPACE).resource(new DeploymentBuilder().withNewMetadata()
                .withName("trainer").endMetadata().withNewSpec().withReplicas(pods).withNewSelector().addToMatchLabels("app", "trainer")
                .endSelector().withNewTemplate().withNewMetadata().addToLabels("app", "trainer").endMetadata().withSpec(podSpec(null))
                .endTemplate().endSpec().build()).create();
        ReplicaSet rs = k8s.apps().replicaSets().inNamespace(NAMESPACE).resource(new ReplicaSetBuilder().withNewMetadata()
                .withName("trainer-7d9f8b6c5").addToLabels("app", "trainer").withOwnerReferences(owner("Deployment",
                        d.getMetadata().getName(), d.getMetadata().getUid())).endMetadata().withNewSpec().withReplicas(pods)
                .withNewSelector().addToMatchLabels("app", "trainer").endSelector().withNewTemplate().withNewMetadata()
                .addToLabels("app", "trainer").endMetadata().withSpec(podSpec(null)).endTemplate().endSpec().build()).create();
        OwnerReference byRs = owner("ReplicaSet", rs.getMetadata().getName(), rs.getMetadata().getUid());
        Map<String, Long> created = new ConcurrentHashMap<>();
        ExecutorService pool = Executors.newFixedThreadPool(pods);
        List<Future<?>> all = new ArrayList<>();
        for (int i = 0; i < pods; i++) {
            String name = rs.getMetadata().getName() + "-" + String.format("%05x", 0x1a2b3 + i * 7919);
            all.add(pool.submit(() -> {
                created.put(name, System.nanoTime());
                k8s.pods().inNamespace(NAMESPACE).resource(new PodBuilder().withNewMetadata().withName(name).withNamespace(NAMESPACE)
                        .addToLabels("app", "trainer").withOwnerReferences(byRs).endMetadata().withSpec(podSpec("k8s.gpu")).build())
                        .create();
                return null;
            }));
        }
        for (Future<?> f : all) {
            f.get();
        }
        pool.shutdown();
        long first = created.values().stream().mapToLong(Long::longValue).min().orElseThrow();
        System.out.printf("  the %d create calls answered by the mock API server within %.0f ms%n", pods, (System.nanoTime() - first) / 1e6);
        Map<String, Long> running = new HashMap<>();
        long deadline = System.nanoTime() + 300_000_000_000L;
        while (running.size() < pods) {
            for (Pod p : k8s.pods().inNamespace(NAMESPACE).withLabel("app", "trainer").list().getItems()) {
                if (PodStarts.running(p)) {
                    running.putIfAbsent(p.getMetadata().getName(), System.nanoTime());
                }
            }
            if (System.nanoTime() > deadline || !agent.isAlive()) {
                throw new IllegalStateException(running.size() + " of " + pods + " pods Running after 300 s; logs in " + dir);
            }
            Thread.sleep(20);
        }
        Stats stats = new Stats();
        running.forEach((name, at) -> stats.add(at - created.get(name)));
        return stats;
    }

    private static io.fabric8.kubernetes.api.model.PodSpec podSpec(String node) {
        return new PodBuilder().withNewSpec().withNodeName(node).withRuntimeClassName("bench-1x").withTerminationGracePeriodSeconds(0L)
                .addNewContainer().withName("main").withImage("gpufleet/busybox:test").withCommand("sleep", "3600")
                .withNewResources().addToLimits("cpu", new Quantity("100m")).addToLimits("memory", new Quantity("64Mi"))
                .endResources().endContainer().endSpec().build().getSpec();
    }

    private static OwnerReference owner(String kind, String name, String uid) {
        return new OwnerReferenceBuilder().withApiVersion("apps/v1").withKind(kind).withName(name).withUid(uid).withController(true)
                .withBlockOwnerDeletion(true).build();
    }

    /** Until the provider holds no live workload of the tenant's (its containers stopped, GPUs free for the baseline). */
    private static void awaitGone(String base, String tenant) throws Exception {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (BurstBench.liveWorkloads(base, tenant) > 0) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the burst's workloads still not deleted after 2 minutes");
            }
            Thread.sleep(200);
        }
    }
}
