package gpufleet.host.agent;

import gpufleet.host.images.ImageGcPolicy;
import gpufleet.host.net.Ipv4Cidr;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The host-agent's configuration, from GPUFLEET_* environment variables; checked as a whole at
 * start, every problem named in one message.
 */
public record AgentConfig(
        URI controlApi,
        String joinToken,
        String hostName,
        Path stateDir,
        String nvmlLibrary,
        String dockerHost,
        String runtime,
        String metricsListen,
        Duration heartbeatInterval,
        Duration sweepInterval,
        Duration telemetryInterval,
        Duration fullReportInterval,
        Duration dockerCheckInterval,
        long reservedCpuMillis,
        long reservedMemoryBytes,
        String pauseImage,
        long pidsLimit,
        Duration restartBackoff,
        Duration resyncInterval,
        Duration cutoffAfter,
        InetAddress publishAddress,
        int streamPort,
        boolean podFirewall,
        List<Ipv4Cidr> podDenied,
        long podEphemeralStorage,
        Duration storageCheckInterval,
        long containerLogMaxBytes,
        int containerLogMaxFiles,
        ImageGcPolicy imageGc) {

    public static final Map<String, String> DEFAULTS = Map.ofEntries(
            Map.entry("GPUFLEET_STATE_DIR", "/var/lib/gpufleet-agent"),
            Map.entry("GPUFLEET_NVML_LIBRARY", "libnvidia-ml.so.1"),
            Map.entry("GPUFLEET_DOCKER_HOST", "unix:///var/run/docker.sock"),
            Map.entry("GPUFLEET_RUNTIME", "nvidia"),
            // dcgm-exporter listens on 9400; a host may run both (ours names pods, DCGM has profiling fields).
            Map.entry("GPUFLEET_METRICS_LISTEN", "0.0.0.0:9401"),
            Map.entry("GPUFLEET_HEARTBEAT_INTERVAL", "10s"),
            Map.entry("GPUFLEET_SWEEP_INTERVAL", "5s"),
            Map.entry("GPUFLEET_TELEMETRY_INTERVAL", "30s"),
            Map.entry("GPUFLEET_FULL_REPORT_INTERVAL", "5m"),
            Map.entry("GPUFLEET_DOCKER_CHECK_INTERVAL", "30s"),
            Map.entry("GPUFLEET_RESERVED_CPU", "1"),
            Map.entry("GPUFLEET_RESERVED_MEMORY", "4Gi"),
            Map.entry("GPUFLEET_PAUSE_IMAGE", "gpufleet/pause:test"),
            Map.entry("GPUFLEET_PIDS_LIMIT", "4096"),
            Map.entry("GPUFLEET_RESTART_BACKOFF", "10s"),
            Map.entry("GPUFLEET_RESYNC_INTERVAL", "2s"),
            Map.entry("GPUFLEET_CUTOFF_AFTER", "4m"),
            Map.entry("GPUFLEET_PUBLISH_ADDRESS", "127.0.0.1"),
            Map.entry("GPUFLEET_STREAM_PORT", "10350"),
            Map.entry("GPUFLEET_POD_FIREWALL", "iptables"),
            Map.entry("GPUFLEET_POD_EPHEMERAL_STORAGE", "100Gi"),
            Map.entry("GPUFLEET_STORAGE_CHECK_INTERVAL", "10s"),
            Map.entry("GPUFLEET_CONTAINER_LOG_MAX_SIZE", "10Mi"),
            Map.entry("GPUFLEET_CONTAINER_LOG_MAX_FILES", "5"),
            Map.entry("GPUFLEET_IMAGE_GC_HIGH_THRESHOLD", "85"),
            Map.entry("GPUFLEET_IMAGE_GC_LOW_THRESHOLD", "80"),
            Map.entry("GPUFLEET_IMAGE_MINIMUM_GC_AGE", "2m"),
            Map.entry("GPUFLEET_IMAGE_GC_INTERVAL", "5m"));

    public static AgentConfig fromEnvironment(Map<String, String> env, String defaultHostName) {
        Map<String, String> v = new HashMap<>(DEFAULTS);
        v.put("GPUFLEET_HOST_NAME", defaultHostName);
        env.forEach((k, val) -> {
            if (k.startsWith("GPUFLEET_") && val != null && !val.isBlank()) {
                v.put(k, val.trim());
            }
        });
        List<String> problems = new ArrayList<>();
        URI api = null;
        String url = v.get("GPUFLEET_CONTROL_API_URL");
        if (url == null) {
            problems.add("GPUFLEET_CONTROL_API_URL: is required (e.g. https://fleet.provider.example)");
        } else {
            try {
                api = URI.create(url.endsWith("/") ? url.substring(0, url.length() - 1) : url);
                if (!"http".equals(api.getScheme()) && !"https".equals(api.getScheme()) || api.getHost() == null) {
                    problems.add("GPUFLEET_CONTROL_API_URL: '" + url + "' must be an http(s) URL with a host");
                }
            } catch (IllegalArgumentException e) {
                problems.add("GPUFLEET_CONTROL_API_URL: '" + url + "' is not a URL");
            }
        }
        String name = v.get("GPUFLEET_HOST_NAME");
        if (name == null) {
            problems.add("GPUFLEET_HOST_NAME: is required (this machine's host name could not be read)");
        } else if (!name.matches("^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$")) {
            problems.add("GPUFLEET_HOST_NAME: '" + name + "' must be a DNS label (lowercase letters, digits, '-', '.')");
        }
        String docker = v.get("GPUFLEET_DOCKER_HOST");
        if (!docker.startsWith("unix://") && !docker.startsWith("tcp://")) {
            problems.add("GPUFLEET_DOCKER_HOST: '" + docker + "' must start with unix:// or tcp://");
        }
        if (!v.get("GPUFLEET_METRICS_LISTEN").matches("^[^:]+:[0-9]{1,5}$")) {
            problems.add("GPUFLEET_METRICS_LISTEN: '" + v.get("GPUFLEET_METRICS_LISTEN") + "' must be host:port");
        }
        AgentConfig c = new AgentConfig(api, v.get("GPUFLEET_JOIN_TOKEN"), name, Path.of(v.get("GPUFLEET_STATE_DIR")),
                v.get("GPUFLEET_NVML_LIBRARY"), docker, v.get("GPUFLEET_RUNTIME"), v.get("GPUFLEET_METRICS_LISTEN"),
                duration(v, "GPUFLEET_HEARTBEAT_INTERVAL", problems), duration(v, "GPUFLEET_SWEEP_INTERVAL", problems),
                duration(v, "GPUFLEET_TELEMETRY_INTERVAL", problems), duration(v, "GPUFLEET_FULL_REPORT_INTERVAL", problems),
                duration(v, "GPUFLEET_DOCKER_CHECK_INTERVAL", problems),
                quantity(v, "GPUFLEET_RESERVED_CPU", true, problems), quantity(v, "GPUFLEET_RESERVED_MEMORY", false, problems),
                v.get("GPUFLEET_PAUSE_IMAGE"), pids(v.get("GPUFLEET_PIDS_LIMIT"), problems),
                duration(v, "GPUFLEET_RESTART_BACKOFF", problems), duration(v, "GPUFLEET_RESYNC_INTERVAL", problems),
                duration(v, "GPUFLEET_CUTOFF_AFTER", problems), publishAddress(v.get("GPUFLEET_PUBLISH_ADDRESS"), problems),
                streamPort(v.get("GPUFLEET_STREAM_PORT"), problems), podFirewall(v.get("GPUFLEET_POD_FIREWALL"), problems),
                podDenied(v.get("GPUFLEET_POD_DENY"), problems),
                atLeast(quantity(v, "GPUFLEET_POD_EPHEMERAL_STORAGE", false, problems), 1L << 20, "GPUFLEET_POD_EPHEMERAL_STORAGE", problems),
                duration(v, "GPUFLEET_STORAGE_CHECK_INTERVAL", problems),
                atLeast(quantity(v, "GPUFLEET_CONTAINER_LOG_MAX_SIZE", false, problems), 1L << 20, "GPUFLEET_CONTAINER_LOG_MAX_SIZE", problems),
                logFiles(v.get("GPUFLEET_CONTAINER_LOG_MAX_FILES"), problems), imageGc(v, problems));
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("invalid host-agent configuration:\n  - " + String.join("\n  - ", problems));
        }
        return c;
    }

    public String metricsHost() {
        return metricsListen.substring(0, metricsListen.lastIndexOf(':'));
    }

    public int metricsPort() {
        return Integer.parseInt(metricsListen.substring(metricsListen.lastIndexOf(':') + 1));
    }

    private static Duration duration(Map<String, String> v, String key, List<String> problems) {
        String text = v.get(key);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("^([0-9]+)(ms|s|m|h)$").matcher(text);
        if (!m.matches() || Long.parseLong(m.group(1)) == 0) {
            problems.add(key + ": '" + text + "' is not a duration (examples: 500ms, 10s, 5m)");
            return Duration.ofSeconds(1);
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            default -> Duration.ofHours(n);
        };
    }

    /**
     * An IP literal (never a name to resolve) of this host, where the edge reaches published pod
     * ports. The wildcard is refused: it would publish tenant pods on every interface, public ones too.
     */
    private static InetAddress publishAddress(String text, List<String> problems) {
        String problem = "GPUFLEET_PUBLISH_ADDRESS: '" + text + "' must be an IP address (not a name, not 0.0.0.0 or ::) "
                + "of this host that the edge reaches, e.g. its private-network address";
        // Checked here so that InetAddress never takes the text for a host name and looks it up.
        boolean v4 = text.matches("^[0-9]{1,3}(\\.[0-9]{1,3}){3}$")
                && java.util.Arrays.stream(text.split("\\.")).allMatch(o -> Integer.parseInt(o) <= 255);
        boolean literal = v4 || text.matches("^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$");
        try {
            InetAddress a = literal ? InetAddress.getByName(text) : null;
            if (a != null && !a.isAnyLocalAddress() && !a.isMulticastAddress()) {
                return a;
            }
        } catch (UnknownHostException e) {
            // reported below
        }
        problems.add(problem);
        return InetAddress.getLoopbackAddress();
    }

    /** Where the control-api reaches this agent for kubectl logs/exec/attach/port-forward; 0 picks a free port. */
    private static int streamPort(String text, List<String> problems) {
        if (text.matches("^[0-9]{1,5}$") && Integer.parseInt(text) <= 65535) {
            return Integer.parseInt(text);
        }
        problems.add("GPUFLEET_STREAM_PORT: '" + text + "' must be a port number (0 picks a free one)");
        return 0;
    }

    /** Who keeps pods off this host and its networks: the agent with iptables, or nobody ("off", for machines where another firewall does). */
    private static boolean podFirewall(String text, List<String> problems) {
        if (!text.equals("iptables") && !text.equals("off")) {
            problems.add("GPUFLEET_POD_FIREWALL: '" + text + "' must be iptables or off");
        }
        return !text.equals("off");
    }

    /** The provider's own networks, which pods must not reach, on top of the private and reserved ranges. */
    private static List<Ipv4Cidr> podDenied(String text, List<String> problems) {
        try {
            return Ipv4Cidr.parseAll(text);
        } catch (IllegalArgumentException e) {
            problems.add("GPUFLEET_POD_DENY: " + e.getMessage() + " (a comma-separated list of IPv4 networks)");
            return List.of();
        }
    }

    private static long atLeast(long value, long min, String key, List<String> problems) {
        if (value != 0 && value < min) {
            problems.add(key + ": must be at least " + gpufleet.common.Quantity.memory(min));
        }
        return value;
    }

    /** The kubelet's image garbage collection settings, under its names (imageGCHighThresholdPercent, …). */
    private static ImageGcPolicy imageGc(Map<String, String> v, List<String> problems) {
        int high = percent(v, "GPUFLEET_IMAGE_GC_HIGH_THRESHOLD", problems);
        int low = percent(v, "GPUFLEET_IMAGE_GC_LOW_THRESHOLD", problems);
        Duration age = duration(v, "GPUFLEET_IMAGE_MINIMUM_GC_AGE", problems);
        Duration interval = duration(v, "GPUFLEET_IMAGE_GC_INTERVAL", problems);
        if (low >= high) {
            problems.add("GPUFLEET_IMAGE_GC_LOW_THRESHOLD: " + low + " must be below GPUFLEET_IMAGE_GC_HIGH_THRESHOLD (" + high + ")");
            return new ImageGcPolicy(85, 80, age, interval);
        }
        return new ImageGcPolicy(high, low, age, interval);
    }

    private static int percent(Map<String, String> v, String key, List<String> problems) {
        String text = v.get(key);
        if (text.matches("^[0-9]{1,3}$") && Integer.parseInt(text) <= 100) {
            return Integer.parseInt(text);
        }
        problems.add(key + ": '" + text + "' must be a whole percent from 0 to 100");
        return 0;
    }

    /** How many log files Docker keeps per container (the one written and the rotated ones), as the kubelet's containerLogMaxFiles. */
    private static int logFiles(String text, List<String> problems) {
        if (text.matches("^[0-9]{1,3}$") && Integer.parseInt(text) >= 2) {
            return Integer.parseInt(text);
        }
        problems.add("GPUFLEET_CONTAINER_LOG_MAX_FILES: '" + text + "' must be a whole number of at least 2");
        return 5;
    }

    private static long pids(String text, List<String> problems) {
        try {
            long n = Long.parseLong(text);
            if (n >= 64) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        problems.add("GPUFLEET_PIDS_LIMIT: '" + text + "' must be a whole number of at least 64");
        return 4096;
    }

    private static long quantity(Map<String, String> v, String key, boolean cpu, List<String> problems) {
        try {
            return cpu ? gpufleet.common.Quantity.cpuMillis(v.get(key), key) : gpufleet.common.Quantity.bytes(v.get(key), key);
        } catch (RuntimeException e) {
            problems.add(e.getMessage());
            return 0;
        }
    }
}
