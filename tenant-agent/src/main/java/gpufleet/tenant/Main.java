package gpufleet.tenant;

import java.util.List;

/** The tenant-agent's entry point: runs in a tenant's Kubernetes cluster. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        List<String> argv = List.of(args);
        if (argv.isEmpty() || argv.contains("--help") || argv.contains("-h")) {
            System.out.println("""
                    usage: tenant-agent <command>

                    The tenant-agent runs in a tenant's cluster: it keeps the virtual node k8s.gpu and its
                    RuntimeClasses, and turns pods scheduled there into workloads on the provider.

                    commands:
                      version    print the agent's version
                    """);
            return;
        }
        if (argv.get(0).equals("version")) {
            System.out.println("tenant-agent " + version());
            return;
        }
        System.err.println("tenant-agent: unknown command '" + argv.get(0) + "' (see tenant-agent --help)");
        System.exit(2);
    }

    static String version() {
        String v = Main.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }
}
