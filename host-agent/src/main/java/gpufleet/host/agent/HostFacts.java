package gpufleet.host.agent;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** This machine's cpu and memory, as the kernel reports them. */
public final class HostFacts {
    private HostFacts() {}

    public static long cpuMillis() {
        return Runtime.getRuntime().availableProcessors() * 1000L;
    }

    /** MemTotal from /proc/meminfo, in bytes. */
    public static long memoryBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            throw new IllegalStateException("cannot read MemTotal from /proc/meminfo: " + e.getMessage(), e);
        }
        throw new IllegalStateException("/proc/meminfo has no MemTotal line");
    }
}
