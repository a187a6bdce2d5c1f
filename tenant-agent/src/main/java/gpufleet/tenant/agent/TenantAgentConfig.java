package gpufleet.tenant.agent;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The tenant-agent's configuration from GPUFLEET_* variables, checked as a whole at start. */
public record TenantAgentConfig(URI controlApi, String tenantToken, String nodeName, int kubeletPort, String nodeAddress,
                                Duration syncInterval, Duration leaseDuration, Duration statusRefresh, Duration podSyncInterval,
                                String clusterId, int healthPort) {

    public static final Map<String, String> DEFAULTS = Map.of(
            "GPUFLEET_NODE_NAME", "k8s.gpu",
            "GPUFLEET_KUBELET_PORT", "10250",
            "GPUFLEET_HEALTH_PORT", "8081",
            "GPUFLEET_SYNC_INTERVAL", "10s",
            "GPUFLEET_LEASE_DURATION", "40s",
            "GPUFLEET_STATUS_REFRESH", "60s",
            "GPUFLEET_POD_SYNC_INTERVAL", "1s");

    public static TenantAgentConfig fromEnvironment(Map<String, String> env) {
        Map<String, String> v = new HashMap<>(DEFAULTS);
        env.forEach((k, val) -> {
            if ((k.startsWith("GPUFLEET_") || k.equals("POD_IP")) && val != null && !val.isBlank()) {
                v.put(k, val.trim());
            }
        });
        List<String> problems = new ArrayList<>();
        URI api = null;
        String url = v.get("GPUFLEET_CONTROL_API_URL");
        if (url == null) {
            problems.add("GPUFLEET_CONTROL_API_URL: is required (the provider's control-api, e.g. https://fleet.provider.example)");
        } else {
            try {
                api = URI.create(url.endsWith("/") ? url.substring(0, url.length() - 1) : url);
                if (api.getHost() == null || !(url.startsWith("http://") || url.startsWith("https://"))) {
                    problems.add("GPUFLEET_CONTROL_API_URL: '" + url + "' must be an http(s) URL with a host");
                }
            } catch (IllegalArgumentException e) {
                problems.add("GPUFLEET_CONTROL_API_URL: '" + url + "' is not a URL");
            }
        }
        String token = v.get("GPUFLEET_TENANT_TOKEN");
        if (token == null) {
            problems.add("GPUFLEET_TENANT_TOKEN: is required (the tenant token the provider issued, gft_…)");
        }
        String node = v.get("GPUFLEET_NODE_NAME");
        if (!node.matches("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")) {
            problems.add("GPUFLEET_NODE_NAME: '" + node + "' is not a valid node name (DNS subdomain)");
        }
        int port = 0;
        try {
            port = Integer.parseInt(v.get("GPUFLEET_KUBELET_PORT"));
            if (port < 1 || port > 65535) {
                problems.add("GPUFLEET_KUBELET_PORT: " + port + " is outside 1..65535");
            }
        } catch (NumberFormatException e) {
            problems.add("GPUFLEET_KUBELET_PORT: '" + v.get("GPUFLEET_KUBELET_PORT") + "' is not a port number");
        }
        int healthPort = 0;
        try {
            healthPort = Integer.parseInt(v.get("GPUFLEET_HEALTH_PORT"));
            if (healthPort < 0 || healthPort > 65535) {
                problems.add("GPUFLEET_HEALTH_PORT: " + healthPort + " is outside 0..65535 (0: no health port)");
            }
        } catch (NumberFormatException e) {
            problems.add("GPUFLEET_HEALTH_PORT: '" + v.get("GPUFLEET_HEALTH_PORT") + "' is not a port number");
        }
        // Optional: without it the agent names its cluster by the kube-system namespace's UID (ClusterId).
        String cluster = v.get("GPUFLEET_CLUSTER_ID");
        if (cluster != null && !cluster.matches("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")) {
            problems.add("GPUFLEET_CLUSTER_ID: '" + cluster + "' is not an RFC 1123 label (lowercase letters, digits and '-', "
                    + "at most 63)");
        }
        TenantAgentConfig c = new TenantAgentConfig(api, token, node, port, v.getOrDefault("POD_IP", "127.0.0.1"),
                duration(v, "GPUFLEET_SYNC_INTERVAL", problems), duration(v, "GPUFLEET_LEASE_DURATION", problems),
                duration(v, "GPUFLEET_STATUS_REFRESH", problems), duration(v, "GPUFLEET_POD_SYNC_INTERVAL", problems), cluster, healthPort);
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("invalid tenant-agent configuration:\n  - " + String.join("\n  - ", problems));
        }
        return c;
    }

    private static Duration duration(Map<String, String> v, String key, List<String> problems) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("^([0-9]+)(ms|s|m)$").matcher(v.get(key));
        if (!m.matches() || Long.parseLong(m.group(1)) == 0) {
            problems.add(key + ": '" + v.get(key) + "' is not a duration (examples: 500ms, 10s, 1m)");
            return Duration.ofSeconds(10);
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            default -> Duration.ofMinutes(n);
        };
    }
}
