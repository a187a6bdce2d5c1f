package gpufleet.tenant.agent;

import gpufleet.common.http.JsonClient;
import gpufleet.tenant.kubelet.KubeletConfig;
import gpufleet.tenant.kubelet.KubeletService;
import gpufleet.tenant.kubelet.relay.ControlApiBackend;
import gpufleet.tenant.node.NodeController;
import gpufleet.tenant.pod.PodController;
import gpufleet.tenant.pod.PodSync;
import gpufleet.tenant.service.ServiceController;
import gpufleet.tenant.provider.ProviderClient;
import gpufleet.tenant.provider.ProviderPods;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.io.IOException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wires the tenant-agent's loops: the node, its lease and the RuntimeClasses every sync interval;
 * pods through {@link PodSync} (at once when the API server says one changed, and every pod-sync
 * interval to pick up status changes at the provider).
 */
public final class TenantAgent implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TenantAgent.class);
    /** While a pod is starting or stopping, the provider is asked this often. */
    static final long FAST_SYNC_MILLIS = 100;

    private final TenantAgentConfig config;
    private final NodeController node;
    private final ProviderClient client;
    private final PodSync pods;
    private volatile NodeController.Provider provider;
    private final KubernetesClient k8s;
    /** This agent's cluster among the tenant's, once known (the node-sync thread's). */
    private volatile String cluster;
    private volatile boolean running = true;
    private final long startedNanos = System.nanoTime();
    /** When the node-sync thread last finished a round, and last reached the API server (System.nanoTime; 0: never). */
    private volatile long lastRoundNanos;
    private volatile long lastWrittenNanos;
    private final Thread serviceLoop;
    private final ServiceController services;
    private final SharedIndexInformer<Service> serviceInformer;
    /** The node's kubelet API; null when the agent runs without one (tests, benchmarks). */
    private final KubeletService kubelet;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "node-sync");
        t.setDaemon(true);
        return t;
    });

    public TenantAgent(TenantAgentConfig config, KubernetesClient k8s) {
        this(config, k8s, null);
    }

    /** With the kubelet API served as {@code kubelet} says once the provider is known. */
    public TenantAgent(TenantAgentConfig config, KubernetesClient k8s, KubeletConfig kubelet) {
        this.config = config;
        this.k8s = k8s;
        this.kubelet = kubelet == null ? null
                : new KubeletService(kubelet, k8s, config.nodeName(), config.nodeAddress(), config.kubeletPort());
        this.client = new ProviderClient(config.controlApi(), config.tenantToken());
        this.pods = new PodSync(k8s, new PodController(k8s, config.nodeName(), config.nodeAddress()), config.podSyncInterval(),
                Duration.ofMillis(Math.min(FAST_SYNC_MILLIS, config.podSyncInterval().toMillis())));
        this.node = new NodeController(k8s, client, config, pods::nodePods);
        timer.scheduleWithFixedDelay(this::syncNode, 0, config.syncInterval().toMillis(), TimeUnit.MILLISECONDS);
        // The Services from an informer: listing a large cluster's every pod-sync interval cost more
        // than everything else the agent does while nothing changes.
        this.serviceInformer = k8s.services().inAnyNamespace().inform();
        this.services = new ServiceController(k8s, client, config.nodeName(), pods::nodePods,
                () -> serviceInformer.hasSynced() ? serviceInformer.getStore().list() : null);
        this.serviceLoop = new Thread(this::serviceLoop, "service-sync");
        this.serviceLoop.setDaemon(true);
        this.serviceLoop.start();
    }

    private void syncNode() {
        try {
            NodeController.Provider p = node.syncOnce();
            lastWrittenNanos = System.nanoTime();
            if (p != null) {
                // The cluster before the provider: the Service loop starts on the provider and must
                // never ask for routes without its cluster (all the tenant's clusters' routes).
                if (cluster == null) {
                    cluster = ClusterId.resolve(k8s, config.clusterId());
                    log.info("serving cluster {} of tenant {}", cluster, p.tenant());
                }
                provider = p;
                pods.provider(new ProviderPods(client, p.tenant(), cluster), p.offerings());
                if (kubelet != null) {
                    kubelet.start(new ControlApiBackend(config.controlApi(), config.tenantToken(), p.tenant()));
                }
            }
        } catch (RuntimeException e) {
            // The API server may be briefly away; the next round tries again.
            log.warn("node sync failed: {}", e.getMessage());
        } finally {
            lastRoundNanos = System.nanoTime();
        }
    }

    /**
     * Liveness: the node-sync thread finishes rounds, successful or not. A stalled thread leaves the
     * node's lease to expire; a restart is the cure. A provider or API server outage is not.
     */
    public Optional<String> liveness() {
        Duration window = max(config.syncInterval().multipliedBy(3), Duration.ofMinutes(2));
        long since = Math.max(lastRoundNanos, startedNanos);
        Duration idle = Duration.ofNanos(System.nanoTime() - since);
        return idle.compareTo(window) <= 0 ? Optional.empty()
                : Optional.of("the node-sync loop finished no round for " + idle.toSeconds() + "s (limit " + window.toSeconds() + "s)");
    }

    /** Readiness: a node round reached the API server (node status and lease written) lately. */
    public Optional<String> readiness() {
        long written = lastWrittenNanos;
        if (written == 0) {
            return Optional.of("the node " + config.nodeName() + " has not been written to the API server yet");
        }
        Duration window = max(config.syncInterval().multipliedBy(3), Duration.ofSeconds(30));
        Duration age = Duration.ofNanos(System.nanoTime() - written);
        return age.compareTo(window) <= 0 ? Optional.empty()
                : Optional.of("the node " + config.nodeName() + " was last written " + age.toSeconds() + "s ago (limit "
                        + window.toSeconds() + "s): see the agent's log");
    }

    private static Duration max(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    /** LoadBalancer Services of class k8s.gpu: routes at the provider, every pod-sync interval. */
    private void serviceLoop() {
        while (running) {
            try {
                Thread.sleep(config.podSyncInterval().toMillis());
            } catch (InterruptedException e) {
                return;
            }
            NodeController.Provider p = provider;
            if (p == null) {
                continue;
            }
            try {
                services.syncOnce(p.tenant(), cluster);
            } catch (IOException | JsonClient.Refused e) {
                log.warn("service sync skipped, provider unreachable: {}", e.getMessage());
            } catch (RuntimeException e) {
                log.warn("service sync failed: {}", e.getMessage());
            }
        }
    }

    @Override
    public void close() {
        running = false;
        serviceLoop.interrupt();
        pods.close();
        serviceInformer.close();
        timer.shutdownNow();
        if (kubelet != null) {
            kubelet.close();
        }
    }
}
