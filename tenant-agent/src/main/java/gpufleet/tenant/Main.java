package gpufleet.tenant;

import gpufleet.common.LogSettings;
import java.util.List;

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
        gpufleet.tenant.agent.TenantAgentConfig config;
        gpufleet.tenant.kubelet.KubeletConfig kubelet;
        try {
            LogSettings.apply(System.getenv());
            config = gpufleet.tenant.agent.TenantAgentConfig.fromEnvironment(System.getenv());
            kubelet = gpufleet.tenant.kubelet.KubeletConfig.fromEnvironment(System.getenv());
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        io.fabric8.kubernetes.client.KubernetesClient k8s = new io.fabric8.kubernetes.client.KubernetesClientBuilder().build();
        gpufleet.tenant.agent.TenantAgent agent = new gpufleet.tenant.agent.TenantAgent(config, k8s, kubelet);
        java.util.concurrent.CountDownLatch stopped = new java.util.concurrent.CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
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
