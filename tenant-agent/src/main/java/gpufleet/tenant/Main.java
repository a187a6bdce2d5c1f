package gpufleet.tenant;

import gpufleet.common.LogSettings;
import gpufleet.tenant.agent.HealthServer;
import gpufleet.tenant.agent.TenantAgent;
import gpufleet.tenant.agent.TenantAgentConfig;
import gpufleet.tenant.kubelet.KubeletConfig;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/** The tenant-agent's entry point: runs in a tenant's Kubernetes cluster. */
public final class Main {
    private Main() {}

    public static void main(String[] args) throws InterruptedException {
        List<String> argv = List.of(args);
        if (argv.isEmpty() || argv.contains("--help") || argv.contains("-h")) {
            System.out.println("""
                    usage: tenant-agent <command>

                    The tenant-agent runs in a tenant's cluster: it keeps the virtual node k8s.gpu and its
                    RuntimeClasses, and turns pods scheduled there into workloads on the provider.

                    commands:
                      run        run the agent (configuration from GPUFLEET_* variables; in-cluster or from
                                 KUBECONFIG / ~/.kube/config)
                      version    print the agent's version
                    """);
            return;
        }
        if (argv.get(0).equals("version")) {
            System.out.println("tenant-agent " + version());
            return;
        }
        if (argv.get(0).equals("run")) {
            run();
            return;
        }
        System.err.println("tenant-agent: unknown command '" + argv.get(0) + "' (see tenant-agent --help)");
        System.exit(2);
    }

    private static void run() throws InterruptedException {
        TenantAgentConfig config;
        KubeletConfig kubelet;
        try {
            LogSettings.apply(System.getenv());
            config = TenantAgentConfig.fromEnvironment(System.getenv());
            kubelet = KubeletConfig.fromEnvironment(System.getenv());
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        KubernetesClient k8s = new KubernetesClientBuilder().build();
        TenantAgent agent = new TenantAgent(config, k8s, kubelet);
        HealthServer health = config.healthPort() == 0 ? null : new HealthServer(config.healthPort(), agent::liveness, agent::readiness);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (health != null) {
                health.close();
            }
            agent.close();
            k8s.close();
            stopped.countDown();
        }, "shutdown"));
        stopped.await();
    }

    static String version() {
        String v = Main.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }
}
