package gpufleet.tenant.agent;

import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.client.KubernetesClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which of the tenant's clusters this agent serves: GPUFLEET_CLUSTER_ID when set, else the UID of
 * the cluster's kube-system namespace, which every cluster has from its creation to its end and
 * no two clusters share. Its workloads at the provider carry it; the agent lists, deletes and
 * updates only those.
 */
final class ClusterId {
    private static final Logger log = LoggerFactory.getLogger(ClusterId.class);
    /** For an API server without kube-system (a test stand-in): the control-api's cluster of agents naming none. */
    static final String DEFAULT = "default";

    private ClusterId() {}

    /** The id; an API server that cannot be asked now throws, so that the caller tries again rather than guess. */
    static String resolve(KubernetesClient k8s, String configured) {
        if (configured != null) {
            return configured;
        }
        Namespace ns = k8s.namespaces().withName("kube-system").get();
        if (ns == null || ns.getMetadata().getUid() == null) {
            log.warn("this cluster has no kube-system namespace to name it by: its pods are cluster '{}'; "
                    + "set GPUFLEET_CLUSTER_ID when one tenant has several such clusters", DEFAULT);
            return DEFAULT;
        }
        return ns.getMetadata().getUid();
    }
}
