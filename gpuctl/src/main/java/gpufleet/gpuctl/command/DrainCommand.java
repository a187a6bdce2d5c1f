package gpufleet.gpuctl.command;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.gpuctl.Exit;
import gpufleet.gpuctl.Failure;
import gpufleet.gpuctl.Gpuctl;
import gpufleet.gpuctl.api.ApiClient;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * gpuctl drain HOST: cordon the host and evict its workloads (their pods fail with reason
 * Evicted), then wait until the host has stopped every one, or the timeout passes.
 */
@Command(name = "drain", description = "Cordon a host, evict its workloads, and wait until they have stopped.")
public final class DrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "HOST", description = "host name or id")
    String host;

    @Option(names = "--timeout", converter = Durations.class, defaultValue = "5m", paramLabel = "DURATION",
            description = "give up waiting after this long (exit code 5); default ${DEFAULT-VALUE}")
    Duration timeout;

    @Option(names = "--poll-interval", converter = Durations.class, defaultValue = "1s", paramLabel = "DURATION",
            description = "how often to look at the host's workloads; default ${DEFAULT-VALUE}")
    Duration interval;

    @Option(names = "--no-wait", description = "evict and return without waiting for the workloads to stop")
    boolean noWait;

    @Override
    public Integer call() throws InterruptedException {
        ApiClient api = Gpuctl.of(spec).client(spec);
        PrintWriter out = spec.commandLine().getOut();
        long deadline = System.nanoTime() + timeout.toNanos();
        JsonNode r = api.post("/v1/hosts/" + ApiClient.encode(host) + "/drain", null);
        String name = r.path("host").path("name").asText(host);
        out.println("host/" + name + " cordoned");
        for (JsonNode w : r.path("evicted")) {
            out.println("evicting workload " + w.path("id").asText() + " (" + w.path("tenant").asText() + " "
                    + w.path("namespace").asText() + "/" + w.path("name").asText() + ")");
        }
        out.flush();
        if (noWait) {
            out.println("host/" + name + ": " + r.path("remaining").asInt() + " workload(s) still stopping");
            return Exit.OK;
        }
        Set<String> waiting = null;
        while (true) {
            Set<String> now = new LinkedHashSet<>();
            api.list("/v1/workloads", Map.of("host", name)).forEach(w -> now.add(w.path("id").asText()));
            if (waiting != null) {
                for (String id : waiting) {
                    if (!now.contains(id)) {
                        out.println("workload " + id + " stopped");
                    }
                }
            }
            if (now.isEmpty()) {
                out.println("host/" + name + " drained");
                return Exit.OK;
            }
            if (!now.equals(waiting)) {
                out.println("waiting for " + now.size() + " workload(s) to stop: " + String.join(", ", now));
            }
            out.flush();
            waiting = now;
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new Failure(Exit.TIMEOUT, "timed out after " + timeout.toSeconds() + "s: " + now.size()
                        + " workload(s) on host " + name + " have not stopped (" + String.join(", ", now)
                        + "); the host frees their GPUs once it confirms their containers are gone");
            }
            Thread.sleep(Math.min(interval.toMillis(), left / 1_000_000 + 1));
        }
    }
}
