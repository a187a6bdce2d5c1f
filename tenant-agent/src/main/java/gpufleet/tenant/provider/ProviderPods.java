package gpufleet.tenant.provider;

import gpufleet.common.api.WorkloadSpec;
import gpufleet.common.api.WorkloadView;
import gpufleet.common.http.JsonClient.Refused;
import gpufleet.tenant.pod.PodProvider;
import java.io.IOException;
import java.util.List;

/**
 * The pod controller's provider over the control-api's HTTP workloads API, for one tenant and one
 * of its clusters: pods are sent as that cluster's, and only that cluster's workloads are listed,
 * read and deleted (another cluster's answer 404, as if absent).
 */
public final class ProviderPods implements PodProvider {
    private final ProviderClient client;
    private final String tenant;
    private final String cluster;

    /** {@code cluster}: null for an agent that names none (its workloads are the "default" cluster's, and it sees all). */
    public ProviderPods(ProviderClient client, String tenant, String cluster) {
        this.client = client;
        this.tenant = tenant;
        this.cluster = cluster;
    }

    public ProviderPods(ProviderClient client, String tenant) {
        this(client, tenant, null);
    }

    @Override
    public WorkloadView create(WorkloadSpec spec) throws IOException, Refused {
        return client.createWorkload(tenant, cluster == null ? spec : spec.inCluster(cluster));
    }

    @Override
    public WorkloadView update(WorkloadSpec spec) throws IOException, Refused {
        return client.updateWorkload(tenant, cluster == null ? spec : spec.inCluster(cluster), cluster);
    }

    @Override
    public void delete(String podUid) throws IOException, Refused {
        client.deleteWorkload(tenant, podUid, cluster);
    }

    @Override
    public WorkloadView get(String podUid) throws IOException, Refused {
        return client.workload(tenant, podUid, cluster);
    }

    @Override
    public List<WorkloadView> list() throws IOException, Refused {
        return client.workloads(tenant, cluster);
    }
}
