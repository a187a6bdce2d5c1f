package gpufleet.bench;

import com.sun.jna.Function;
import com.sun.jna.Library;
import com.sun.jna.NativeLibrary;
import com.sun.jna.ptr.IntByReference;
import gpufleet.control.ControlApi;
import gpufleet.control.config.ControlApiConfig;
import gpufleet.control.config.SealKey;
import gpufleet.host.gpu.GpuSnapshot;
import gpufleet.host.nvml.NvmlGpuInventory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The host-agent's costs: one full NVML sweep of 8 GPUs (beside the cost of a single NVML call
 * through JNA), and the agent's resident memory and CPU at steady state as a separate process
 * (beside an idle JVM started with the same flags, measured over the same minute).
 */
final class HostAgentBench {
    /** The JVM flags the agent is run with in production (see docs/host-agent.md). */
    static final List<String> AGENT_JVM = List.of("-Xmx96m", "-XX:+UseSerialGC", "-Xss512k", "-XX:TieredStopAtLevel=1");
    private static final String TOKEN = BenchApi.OPERATOR_TOKEN;

    private HostAgentBench() {}

    static void main(String[] args) throws Exception {
        String sim = Path.of(args.length > 0 ? args[0] : "host-agent/target/nvml-sim/libnvidia-ml-sim.so").toAbsolutePath().toString();
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 60;
        sweep(sim);
        steadyState(sim, seconds);
    }

    private static void sweep(String sim) {
        int n = 2000;
        long[] sweeps = new long[n];
        try (NvmlGpuInventory nvml = new NvmlGpuInventory(sim)) {
            for (int i = 0; i < 300; i++) {
                nvml.sweep();
            }
            GpuSnapshot last = null;
            for (int i = 0; i < n; i++) {
                long t0 = System.nanoTime();
                last = nvml.sweep();
                sweeps[i] = System.nanoTime() - t0;
            }
            System.out.printf("NVML sweep of %d GPUs (simulated NVML through JNA), %d sweeps:%n", last.gpus().size(), n);
        }
        NativeLibrary lib = NativeLibrary.getInstance(sim, Map.of(Library.OPTION_OPEN_FLAGS, 2));
        lib.getFunction("nvmlInit_v2").invokeInt(new Object[0]);
        Function count = lib.getFunction("nvmlDeviceGetCount_v2");
        IntByReference ref = new IntByReference();
        long[] calls = new long[20_000];
        for (int i = 0; i < calls.length; i++) {
            long t0 = System.nanoTime();
            count.invokeInt(new Object[] {ref});
            calls[i] = System.nanoTime() - t0;
        }
        lib.getFunction("nvmlShutdown").invokeInt(new Object[0]);
        System.out.printf("  one sweep:                     p50 %.3f ms   p99 %.3f ms   (target < 10 ms)%n", pct(sweeps, 50), pct(sweeps, 99));
        System.out.printf("  baseline, one NVML call (JNA): p50 %.4f ms  p99 %.4f ms%n", pct(calls, 50), pct(calls, 99));
    }

    private static double pct(long[] nanos, double p) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        return s[(int) Math.min(s.length - 1, Math.ceil(p / 100 * s.length) - 1)] / 1e6;
    }

    private static void steadyState(String sim, int seconds) throws Exception {
        Db db = Db.fromEnvironment();
        db.recreate("gpufleet_bench_agent");
        Map<String, String> values = new HashMap<>(ControlApiConfig.DEFAULTS);
        values.put(SealKey.FILE_VARIABLE, Db.sealKeyFile().toString());
        values.put("GPUFLEET_DB_URL", db.url("gpufleet_bench_agent"));
        values.put("GPUFLEET_DB_USER", db.user());
        values.put("GPUFLEET_DB_PASSWORD", db.password());
        values.put("GPUFLEET_LISTEN", "127.0.0.1:0");
        values.put("GPUFLEET_METRICS_LISTEN", "127.0.0.1:0"); // beside a running dev/run.sh
        values.put("GPUFLEET_OPERATOR_TOKEN", TOKEN);
        Path state = Files.createTempDirectory("agent-bench");
        Process agent = null;
        Process idle = null;
        try (ControlApi api = ControlApi.start(ControlApiConfig.from(values))) {
            String base = "http://127.0.0.1:" + api.port();
            String join = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base + "/v1/join-tokens"))
                            .header("Authorization", "Bearer " + TOKEN).header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString("{\"ttl\":\"1h\"}")).build(),
                    HttpResponse.BodyHandlers.ofString()).body().replaceAll(".*\"token\":\"([^\"]+)\".*", "$1");
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            ProcessBuilder pb = new ProcessBuilder(concat(java, AGENT_JVM, "-jar", "host-agent/target/host-agent-0.1.0-SNAPSHOT-all.jar", "run"))
                    .redirectErrorStream(true).redirectOutput(state.resolve("agent.log").toFile());
            pb.environment().putAll(Map.of("GPUFLEET_CONTROL_API_URL", base, "GPUFLEET_JOIN_TOKEN", join,
                    "GPUFLEET_STATE_DIR", state.toString(), "GPUFLEET_NVML_LIBRARY", sim,
                    "GPUFLEET_METRICS_LISTEN", "127.0.0.1:0", "GPUFLEET_HOST_NAME", "bench-host"));
            agent = pb.start();
            idle = new ProcessBuilder(concat(java, AGENT_JVM, "-cp", System.getProperty("java.class.path"), Idle.class.getName(), null))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            System.out.printf("%nhost-agent at steady state (defaults: heartbeat 10s, sweep 5s), JVM %s:%n", String.join(" ", AGENT_JVM));
            Thread.sleep(20_000);
            double agentCpu0 = ProcStats.cpuSeconds(agent.pid());
            double idleCpu0 = ProcStats.cpuSeconds(idle.pid());
            long agentMax = 0;
            long idleMax = 0;
            for (int i = 0; i < seconds; i++) {
                Thread.sleep(1000);
                agentMax = Math.max(agentMax, ProcStats.rssKib(agent.pid()));
                idleMax = Math.max(idleMax, ProcStats.rssKib(idle.pid()));
            }
            double agentCpu = (ProcStats.cpuSeconds(agent.pid()) - agentCpu0) / seconds * 100;
            double idleCpu = (ProcStats.cpuSeconds(idle.pid()) - idleCpu0) / seconds * 100;
            System.out.printf("  %-26s %10s %22s%n", "process", "max RSS", "CPU over " + seconds + " s");
            System.out.printf("  %-26s %7.1f MB %20.2f %% of a core   (targets: < 150 MB, < 1 %%)%n", "host-agent", agentMax / 1024.0, agentCpu);
            System.out.printf("  %-26s %7.1f MB %20.2f %% of a core%n", "baseline: idle JVM", idleMax / 1024.0, idleCpu);
            String log = Files.readString(state.resolve("agent.log"));
            if (!log.contains("registered as host bench-host")) {
                throw new IllegalStateException("the agent did not register; its log:\n" + log);
            }
        } finally {
            if (agent != null) {
                agent.destroy();
            }
            if (idle != null) {
                idle.destroy();
            }
            db.drop("gpufleet_bench_agent");
        }
    }

    private static List<String> concat(String java, List<String> flags, String... rest) {
        List<String> out = new java.util.ArrayList<>();
        out.add(java);
        out.addAll(flags);
        for (String r : rest) {
            if (r != null) {
                out.add(r);
            }
        }
        return out;
    }
}
