package gpufleet.host.workload;

import java.util.Map;

/** The labels that mark what the agent created, so it can find, adopt and clean up its containers. */
public final class Labels {
    public static final String MANAGED = "org.gpufleet.managed";
    public static final String WORKLOAD = "org.gpufleet.workload";
    public static final String POD_UID = "org.gpufleet.pod-uid";
    public static final String TENANT = "org.gpufleet.tenant";
    public static final String CONTAINER = "org.gpufleet.container";
    public static final String ATTEMPT = "org.gpufleet.attempt";
    public static final String PAUSE = "POD";
    /** On a pause container started ahead of need for a tenant; it keeps the label once a pod claims it. */
    public static final String SPARE_FOR = "org.gpufleet.spare-for";
    private static final java.util.regex.Pattern CLAIMED = java.util.regex.Pattern.compile("^gf-([0-9a-f-]{36})-pod$");

    private Labels() {}

    /**
     * The workload a container belongs to: its label, or for a spare pause container a pod has
     * claimed (renamed to gf-<workload>-pod), its name.
     */
    public static String workload(gpufleet.host.runtime.Observed o) {
        String w = o.label(WORKLOAD);
        if (w != null) {
            return w;
        }
        java.util.regex.Matcher m = CLAIMED.matcher(o.name());
        return o.label(SPARE_FOR) != null && m.matches() ? m.group(1) : null;
    }

    static boolean unclaimedSpare(gpufleet.host.runtime.Observed o) {
        return o.label(SPARE_FOR) != null && workload(o) == null;
    }

    static Map<String, String> of(String workload, String podUid, String tenant, String container, int attempt) {
        return Map.of(MANAGED, "true", WORKLOAD, workload, POD_UID, podUid, TENANT, tenant, CONTAINER, container,
                ATTEMPT, Integer.toString(attempt));
    }
}
