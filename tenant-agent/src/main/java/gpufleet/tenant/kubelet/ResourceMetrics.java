package gpufleet.tenant.kubelet;

import java.time.Instant;
import java.util.List;
import java.util.Locale;

/**
 * /metrics/resource in the Prometheus text format, with the metric names, labels and timestamps
 * the kubelet gives metrics-server. When the provider cannot be read, only scrape_error 1.
 */
final class ResourceMetrics {
    private ResourceMetrics() {}

    static String render(KubeletBackend backend) {
        List<KubeletBackend.PodStats> pods;
        try {
            pods = backend.stats();
        } catch (Exception e) {
            return header("scrape_error", "[ALPHA] 1 if there was an error while getting container metrics, 0 otherwise", "gauge")
                    + "scrape_error 1\n";
        }
        StringBuilder cpu = new StringBuilder(header("container_cpu_usage_seconds_total",
                "[STABLE] Cumulative cpu time consumed by the container in core-seconds", "counter"));
        StringBuilder mem = new StringBuilder(header("container_memory_working_set_bytes",
                "[STABLE] Current working set of the container in bytes", "gauge"));
        StringBuilder start = new StringBuilder(header("container_start_time_seconds",
                "[STABLE] Start time of the container since unix epoch in seconds", "gauge"));
        StringBuilder podCpu = new StringBuilder(header("pod_cpu_usage_seconds_total",
                "[STABLE] Cumulative cpu time consumed by the pod in core-seconds", "counter"));
        StringBuilder podMem = new StringBuilder(header("pod_memory_working_set_bytes",
                "[STABLE] Current working set of the pod in bytes", "gauge"));
        long nodeCpu = 0;
        long nodeMem = 0;
        long now = Instant.now().toEpochMilli();
        for (KubeletBackend.PodStats pod : pods) {
            String podLabels = "namespace=\"" + escape(pod.pod().namespace()) + "\",pod=\"" + escape(pod.pod().name()) + "\"";
            long cpuSum = 0;
            long memSum = 0;
            long at = now;
            for (KubeletBackend.ContainerStats c : pod.containers()) {
                String labels = "{container=\"" + escape(c.name()) + "\"," + podLabels + "}";
                at = millis(c.sampledAt(), now);
                cpu.append("container_cpu_usage_seconds_total").append(labels).append(' ').append(seconds(c.cpuUsageCoreNanoSeconds()))
                        .append(' ').append(at).append('\n');
                mem.append("container_memory_working_set_bytes").append(labels).append(' ').append(c.memoryWorkingSetBytes())
                        .append(' ').append(at).append('\n');
                if (c.startTime() != null) {
                    long started = millis(c.startTime(), now);
                    start.append("container_start_time_seconds").append(labels).append(' ')
                            .append(String.format(Locale.ROOT, "%.3f", started / 1000.0)).append(' ').append(started).append('\n');
                }
                cpuSum += c.cpuUsageCoreNanoSeconds();
                memSum += c.memoryWorkingSetBytes();
            }
            podCpu.append("pod_cpu_usage_seconds_total{").append(podLabels).append("} ").append(seconds(cpuSum)).append(' ').append(at).append('\n');
            podMem.append("pod_memory_working_set_bytes{").append(podLabels).append("} ").append(memSum).append(' ').append(at).append('\n');
            nodeCpu += cpuSum;
            nodeMem += memSum;
        }
        return cpu.toString() + mem + start
                + header("node_cpu_usage_seconds_total", "[STABLE] Cumulative cpu time consumed by the node in core-seconds", "counter")
                + "node_cpu_usage_seconds_total " + seconds(nodeCpu) + " " + now + "\n"
                + header("node_memory_working_set_bytes", "[STABLE] Current working set of the node in bytes", "gauge")
                + "node_memory_working_set_bytes " + nodeMem + " " + now + "\n"
                + podCpu + podMem
                + header("scrape_error", "[ALPHA] 1 if there was an error while getting container metrics, 0 otherwise", "gauge")
                + "scrape_error 0\n";
    }

    private static String header(String name, String help, String type) {
        return "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    }

    private static String seconds(long nanos) {
        return String.format(Locale.ROOT, "%.9f", nanos / 1e9);
    }

    private static long millis(String rfc3339, long fallback) {
        try {
            return rfc3339 == null ? fallback : Instant.parse(rfc3339).toEpochMilli();
        } catch (RuntimeException e) {
            return fallback;
        }
    }

    private static String escape(String v) {
        return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
