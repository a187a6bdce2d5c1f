package gpufleet.host;

import gpufleet.common.LogSettings;
import gpufleet.host.agent.Agent;
import gpufleet.host.agent.AgentConfig;
import gpufleet.host.agent.ControlApiClient;
import gpufleet.host.docker.DockerRuntime;
import gpufleet.host.metrics.DcgmMetrics;
import gpufleet.host.metrics.MetricsServer;
import gpufleet.host.nvml.NvmlGpuInventory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;

/** The host-agent's entry point: runs on every GPU server. */
public final class Main {
    private static final String USAGE = """
            usage: host-agent <command>

            The host-agent runs on each GPU server: it reads the GPUs through NVML, runs tenant
            containers through Docker with the nvidia runtime, and reports to the control-api.

            commands:
              run                 run the agent (configuration from GPUFLEET_* variables; see docs/operators.md)
              inventory [--json]  print this host's GPUs as NVML sees them
              version             print the agent's version
            """;

    private Main() {}

    public static void main(String[] args) throws Exception {
        List<String> argv = List.of(args);
        if (argv.isEmpty() || argv.contains("--help") || argv.contains("-h")) {
            System.out.print(USAGE);
            return;
        }
        switch (argv.get(0)) {
            case "version" -> System.out.println("host-agent " + version());
            case "inventory" -> System.exit(InventoryCommand.run(
                    System.getenv().getOrDefault("GPUFLEET_NVML_LIBRARY", "libnvidia-ml.so.1"),
                    argv.contains("--json"), System.out, System.err));
            case "run" -> run();
            default -> {
                System.err.println("host-agent: unknown command '" + argv.get(0) + "' (see host-agent --help)");
                System.exit(2);
            }
        }
    }

    private static void run() throws InterruptedException {
        AgentConfig config;
        try {
            LogSettings.apply(System.getenv());
            config = AgentConfig.fromEnvironment(System.getenv(), defaultHostName());
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        exitWhenAThreadRunsOutOfMemory();
        DcgmMetrics dcgm = new DcgmMetrics(config.hostName());
        Agent agent = new Agent(config, new ControlApiClient(config.controlApi()),
                () -> new NvmlGpuInventory(config.nvmlLibrary()),
                new DockerRuntime(config.dockerHost(), config.runtime()),
                e -> { if (e.xid() != null) { dcgm.xid(e.uuid(), e.xid()); } });
        // Three missed heartbeats: one lost packet is no reason to restart anything.
        Duration silence = config.heartbeatInterval().multipliedBy(3);
        MetricsServer metrics = new MetricsServer(config.metricsHost(), config.metricsPort(),
                () -> dcgm.render(agent.snapshot(), agent.gpuHolders()), () -> agent.problems(silence));
        agent.start();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            metrics.close();
            agent.close();
            stopped.countDown();
        }, "shutdown"));
        stopped.await();
    }

    /**
     * The agent's own loops are supervised (see Agent); any other thread that dies of running out
     * of heap or stack (a stream or relay connection) leaves a process nobody can vouch for: end
     * it with a failure status, and systemd's Restart=on-failure starts a clean one.
     */
    private static void exitWhenAThreadRunsOutOfMemory() {
        Thread.setDefaultUncaughtExceptionHandler((thread, error) -> {
            System.err.print("Exception in thread \"" + thread.getName() + "\" ");
            error.printStackTrace();
            if (error instanceof VirtualMachineError) {
                Runtime.getRuntime().halt(70);
            }
        });
    }

    /**
     * The kernel's host name, as {@code hostname} prints it. Not {@code InetAddress.getLocalHost()}:
     * that resolves the name through DNS or /etc/hosts, which fails on a fresh machine whose name
     * is in neither, and every such host would then register under one fallback name. Null when
     * the name cannot be read (the configuration then asks for GPUFLEET_HOST_NAME).
     */
    static String defaultHostName() {
        try {
            String name = Files.readString(Path.of("/proc/sys/kernel/hostname")).trim().toLowerCase(Locale.ROOT);
            return name.isEmpty() || name.equals("(none)") ? null : name;
        } catch (IOException e) {
            return null;
        }
    }

    static String version() {
        String v = Main.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }
}
