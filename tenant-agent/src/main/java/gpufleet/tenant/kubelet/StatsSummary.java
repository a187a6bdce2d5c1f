package gpufleet.tenant.kubelet;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.List;

/**
 * The kubelet's Summary API (stats/v1alpha1) for /stats/summary: the node's usage is the sum of its
 * pods' (the virtual node has nothing else), each pod with its containers' cpu and memory. A pod's
 * GPUs appear as {@code accelerators} in the shape the kubelet once gave containers, which parsers
 * that do not know them skip.
 */
final class StatsSummary {
    private StatsSummary() {}

    static ObjectNode render(String nodeName, Instant startedAt, List<KubeletBackend.PodStats> pods) {
        ObjectNode root = Statuses.JSON.createObjectNode();
        ObjectNode node = root.putObject("node");
        node.put("nodeName", nodeName);
        node.putArray("systemContainers");
        node.put("startTime", startedAt.toString());
        String now = Instant.now().toString();
        Usage nodeUsage = new Usage();
        ArrayNode podsOut = root.putArray("pods");
        for (KubeletBackend.PodStats pod : pods) {
            ObjectNode p = podsOut.addObject();
            p.putObject("podRef").put("name", pod.pod().name()).put("namespace", pod.pod().namespace()).put("uid", pod.pod().uid());
            p.put("startTime", pod.startTime());
            Usage podUsage = new Usage();
            ArrayNode containers = p.putArray("containers");
            for (KubeletBackend.ContainerStats c : pod.containers()) {
                ObjectNode co = containers.addObject();
                co.put("name", c.name());
                co.put("startTime", c.startTime());
                Usage u = new Usage();
                u.add(c);
                u.write(co, c.sampledAt());
                podUsage.add(c);
                podUsage.time = c.sampledAt();
            }
            podUsage.write(p, podUsage.time == null ? now : podUsage.time);
            ArrayNode gpus = p.putArray("accelerators");
            for (KubeletBackend.GpuStats g : pod.gpus()) {
                gpus.addObject().put("make", "nvidia").put("model", g.model()).put("id", g.uuid())
                        .put("memoryTotal", g.memoryTotalBytes()).put("memoryUsed", g.memoryUsedBytes())
                        .put("dutyCycle", g.utilizationPercent());
            }
            nodeUsage.addAll(podUsage);
        }
        nodeUsage.write(node, now);
        return root;
    }

    /** Sums of cpu and memory figures. */
    private static final class Usage {
        long coreNanoSeconds;
        long nanoCores;
        long workingSet;
        long usage;
        long rss;
        String time;

        void add(KubeletBackend.ContainerStats c) {
            coreNanoSeconds += c.cpuUsageCoreNanoSeconds();
            nanoCores += c.cpuUsageNanoCores();
            workingSet += c.memoryWorkingSetBytes();
            usage += c.memoryUsageBytes();
            rss += c.memoryRssBytes();
        }

        void addAll(Usage u) {
            coreNanoSeconds += u.coreNanoSeconds;
            nanoCores += u.nanoCores;
            workingSet += u.workingSet;
            usage += u.usage;
            rss += u.rss;
        }

        void write(ObjectNode target, String at) {
            target.putObject("cpu").put("time", at).put("usageNanoCores", nanoCores).put("usageCoreNanoSeconds", coreNanoSeconds);
            target.putObject("memory").put("time", at).put("workingSetBytes", workingSet).put("usageBytes", usage).put("rssBytes", rss);
        }
    }
}
