package gpufleet.tenant.pod;

import gpufleet.common.api.WorkloadSpec;
import gpufleet.common.api.WorkloadView;
import gpufleet.common.http.JsonClient.Refused;
import java.io.IOException;
import java.util.List;

/**
 * Where the pods of this node run: the pod controller's one narrow view of the provider, bound to
 * one tenant and one cluster (virtual-kubelet's PodLifecycleHandler). Returned views are not
 * mutated by the controller. A {@link Refused} carries the provider's status and reason (quota,
 * too many requests, a spec it will not take); an {@link IOException} means it was not reached.
 */
public interface PodProvider {
    /** Sends a pod. Idempotent by pod UID: the same pod again returns the workload already made. */
    WorkloadView create(WorkloadSpec spec) throws IOException, Refused;

    /**
     * Sends a running pod's changed spec. The provider takes only what the API server lets a pod
     * change (containers' images, activeDeadlineSeconds) and refuses anything else; the same spec
     * again changes nothing.
     */
    WorkloadView update(WorkloadSpec spec) throws IOException, Refused;

    /** Asks for the pod's deletion. May be called more than once; a workload already gone is fine. */
    void delete(String podUid) throws IOException, Refused;

    /** The pod's workload, or null when the provider has none (for this cluster). */
    WorkloadView get(String podUid) throws IOException, Refused;

    /** Every workload of this cluster, deleted ones being stopped included. */
    List<WorkloadView> list() throws IOException, Refused;
}
