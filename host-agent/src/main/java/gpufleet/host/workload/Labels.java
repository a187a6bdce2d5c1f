package gpufleet.host.workload;

import gpufleet.host.runtime.Observed;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The labels that mark what the agent created, so it can find, adopt and clean up its containers.
 * Every container carries its host's name ({@link #HOST}): agents that share a Docker Engine (two
 * simulated hosts on one machine) each see only their own.
 */
public final class Labels {
    public static final String MANAGED = "org.gpufleet.managed";
    /** The name of the host whose agent created the container: stable across re-registrations, known before the first. */
    public static final String HOST = "org.gpufleet.host";
    public static final String WORKLOAD = "org.gpufleet.workload";
    public static final String POD_UID = "org.gpufleet.pod-uid";
    public static final String TENANT = "org.gpufleet.tenant";
    public static final String CONTAINER = "org.gpufleet.container";
    public static final String ATTEMPT = "org.gpufleet.attempt";
    public static final String PAUSE = "POD";
    /**
     * On a spare pause container of agents before host labels: started before its pod was known,
     * so it never carried the workload label; once claimed, only its name tells the workload.
     */
    static final String SPARE_FOR = "org.gpufleet.spare-for";
    private static final Pattern SANDBOX = Pattern.compile("^gf-([0-9a-f-]{36})-pod$");

    private Labels() {}

    /** The name of a workload's pause container. */
    static String sandboxName(String workload) {
        return "gf-" + workload + "-pod";
    }

    /** The workload a container belongs to: its label, or for a spare an older agent let a pod claim, its name. */
    public static String workload(Observed o) {
        String w = o.label(WORKLOAD);
        if (w != null) {
            return w;
        }
        Matcher m = SANDBOX.matcher(o.name());
        return o.label(SPARE_FOR) != null && m.matches() ? m.group(1) : null;
    }

    /** What the engine filters on to list one host's containers. */
    static Map<String, String> ofHost(String host) {
        return Map.of(MANAGED, "true", HOST, host);
    }

    static Map<String, String> of(String host, String workload, String podUid, String tenant, String container, int attempt) {
        return Map.of(MANAGED, "true", HOST, host, WORKLOAD, workload, POD_UID, podUid, TENANT, tenant, CONTAINER, container,
                ATTEMPT, Integer.toString(attempt));
    }
}
