package gpufleet.host;

import java.util.List;

/** The host-agent's entry point: runs on every GPU server. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        List<String> argv = List.of(args);
        if (argv.isEmpty() || argv.contains("--help") || argv.contains("-h")) {
            System.out.println("""
                    usage: host-agent <command>

                    The host-agent runs on each GPU server: it reads the GPUs through NVML, runs tenant
                    containers through Docker with the nvidia runtime, and reports to the control-api.

                    commands:
                      version    print the agent's version
                    """);
            return;
        }
        if (argv.get(0).equals("version")) {
            System.out.println("host-agent " + version());
            return;
        }
        System.err.println("host-agent: unknown command '" + argv.get(0) + "' (see host-agent --help)");
        System.exit(2);
    }

    static String version() {
        String v = Main.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }
}
