package gpufleet.host.stream;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A container's CPU time and memory read from its cgroup, found through its main process as the
 * kubelet's cAdvisor does (Docker's own stats API is not reliable on every engine): cgroup v1
 * (cpuacct, memory) or v2 (cpu.stat, memory.current). The working set is usage less inactive
 * file pages, as the kubelet counts it.
 */
record CgroupUsage(long cpuNanos, long memoryUsage, long workingSet, long rss) {
    private static final Path ROOT = Path.of("/sys/fs/cgroup");

    static CgroupUsage ofProcess(long pid) throws IOException {
        Map<String, String> v1 = new HashMap<>();
        String v2 = null;
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "cgroup"))) {
            String[] f = line.split(":", 3);
            if (f.length < 3) {
                continue;
            }
            if (f[1].isEmpty()) {
                v2 = f[2];
            }
            for (String controller : f[1].split(",")) {
                v1.put(controller, f[1] + ":" + f[2]);
            }
        }
        if (v1.containsKey("cpuacct") && v1.containsKey("memory")) {
            Path cpu = v1Dir(v1.get("cpuacct"), "cpuacct");
            Path mem = v1Dir(v1.get("memory"), "memory");
            Map<String, Long> stat = keyed(mem.resolve("memory.stat"));
            long usage = number(mem.resolve("memory.usage_in_bytes"));
            return new CgroupUsage(number(cpu.resolve("cpuacct.usage")), usage,
                    Math.max(0, usage - stat.getOrDefault("total_inactive_file", 0L)), stat.getOrDefault("total_rss", 0L));
        }
        if (v2 == null) {
            throw new IOException("process " + pid + " is in no cgroup this agent can read");
        }
        Path dir = Files.exists(ROOT.resolve("unified").resolve(v2.substring(1)).resolve("cpu.stat"))
                ? ROOT.resolve("unified").resolve(v2.substring(1)) : ROOT.resolve(v2.substring(1));
        Map<String, Long> stat = keyed(dir.resolve("memory.stat"));
        long usage = number(dir.resolve("memory.current"));
        return new CgroupUsage(keyed(dir.resolve("cpu.stat")).getOrDefault("usage_usec", 0L) * 1000, usage,
                Math.max(0, usage - stat.getOrDefault("inactive_file", 0L)), stat.getOrDefault("anon", 0L));
    }

    /** The hierarchy's mount: named by all its controllers ("cpu,cpuacct") or by the one asked for. */
    private static Path v1Dir(String controllersAndPath, String controller) throws IOException {
        int colon = controllersAndPath.indexOf(':');
        String rel = controllersAndPath.substring(colon + 2);
        for (String mount : List.of(controllersAndPath.substring(0, colon), controller)) {
            Path dir = ROOT.resolve(mount).resolve(rel);
            if (Files.isDirectory(dir)) {
                return dir;
            }
        }
        throw new IOException("no " + controller + " cgroup directory for /" + rel + " under " + ROOT);
    }

    private static long number(Path file) throws IOException {
        return Long.parseLong(Files.readString(file).trim());
    }

    private static Map<String, Long> keyed(Path file) throws IOException {
        Map<String, Long> out = new HashMap<>();
        for (String line : Files.readAllLines(file)) {
            String[] kv = line.trim().split("\\s+");
            if (kv.length == 2 && kv[1].matches("[0-9]+")) {
                out.put(kv[0], Long.parseLong(kv[1]));
            }
        }
        return out;
    }
}
