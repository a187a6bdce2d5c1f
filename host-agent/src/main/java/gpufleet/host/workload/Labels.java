package gpufleet.host.workload;

import java.util.Map;

/** The labels that mark what the agent created, so it can find, adopt and clean up its containers. */
final class Labels {
    static final String MANAGED = "org.gpufleet.managed";
    static final String WORKLOAD = "org.gpufleet.workload";
    static final String POD_UID = "org.gpufleet.pod-uid";
    static final String TENANT = "org.gpufleet.tenant";
    static final String CONTAINER = "org.gpufleet.container";
    static final String ATTEMPT = "org.gpufleet.attempt";
    static final String PAUSE = "POD";

    private Labels() {}

    static Map<String, String> of(String workload, String podUid, String tenant, String container, int attempt) {
        return Map.of(MANAGED, "true", WORKLOAD, workload, POD_UID, podUid, TENANT, tenant, CONTAINER, container,
                ATTEMPT, Integer.toString(attempt));
    }
}
