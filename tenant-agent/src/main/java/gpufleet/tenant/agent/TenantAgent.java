package gpufleet.tenant.agent;

import gpufleet.tenant.node.NodeController;
import gpufleet.tenant.pod.PodController;
import gpufleet.tenant.provider.ProviderClient;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Wires the tenant-agent's loops over one Kubernetes client and one provider client. */
public final class TenantAgent implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TenantAgent.class);

    private final NodeController node;
    private final PodController pods;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "node-sync");
        t.setDaemon(true);
        return t;
    });

    public TenantAgent(TenantAgentConfig config, KubernetesClient k8s) {
        ProviderClient provider = new ProviderClient(config.controlApi(), config.tenantToken());
        this.node = new NodeController(k8s, provider, config);
        this.pods = new PodController(k8s, provider, config.nodeName(), config.nodeAddress());
        timer.scheduleWithFixedDelay(this::sync, 0, config.syncInterval().toMillis(), TimeUnit.MILLISECONDS);
    }

    private void sync() {
        try {
            NodeController.Provider p = node.syncOnce();
            if (p != null) {
                pods.syncOnce(p.tenant(), p.offerings());
            }
        } catch (java.io.IOException | ProviderClient.Refused e) {
            log.warn("pod sync skipped, provider unreachable: {}", e.getMessage());
        } catch (RuntimeException e) {
            // The API server may be briefly away; the next round tries again.
            log.warn("node sync failed: {}", e.getMessage());
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
