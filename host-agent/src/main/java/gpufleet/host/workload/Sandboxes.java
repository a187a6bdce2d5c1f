package gpufleet.host.workload;

import gpufleet.common.api.HostWorkload;
import gpufleet.host.net.PodFirewall;
import gpufleet.host.runtime.ContainerRuntime;
import gpufleet.host.runtime.DiskLimits;
import gpufleet.host.runtime.Observed;
import gpufleet.host.runtime.Plan;
import gpufleet.host.runtime.RuntimeFailure;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pods' sandboxes: the small pause container of each pod, on its tenant's network, whose network
 * and IPC namespaces (and memory volumes, hostname, /etc/hosts) the pod's containers join.
 */
final class Sandboxes {
    private static final Logger log = LoggerFactory.getLogger(Sandboxes.class);

    /**
     * The pod's sandbox: its pause container, its addresses (network → IP), and its start, which a
     * new sandbox runs while the pod's containers are pulled and created (Docker takes a container
     * joining a namespace that is created but not yet running; only their start must wait).
     */
    record Sandbox(String id, Map<String, String> addresses, CompletableFuture<Void> started) {
        /** Waits for the pause container's start; its failure (message after {@code prefix}) is the pod's containers'. */
        void awaitStarted(String prefix) throws RuntimeFailure {
            try {
                started.join();
            } catch (CompletionException e) {
                RuntimeFailure f = e.getCause() instanceof RuntimeFailure r ? r : new RuntimeFailure("RunContainerError", e.getMessage());
                throw new RuntimeFailure(f.reason(), prefix + f.getMessage());
            }
        }
    }

    private final ContainerRuntime runtime;
    private final String host;
    private final String pauseImage;
    private final DiskLimits disk;
    private final PodFirewall firewall;
    private final TenantNetworks networks;
    private final PodVolumes volumes;
    /** Where a new sandbox is started, while the pod's images are pulled. */
    private final ExecutorService starter;

    Sandboxes(ContainerRuntime runtime, String host, String pauseImage, DiskLimits disk, PodFirewall firewall, TenantNetworks networks,
              PodVolumes volumes, ExecutorService starter) {
        this.runtime = runtime;
        this.host = host;
        this.pauseImage = pauseImage;
        this.disk = disk;
        this.firewall = firewall;
        this.networks = networks;
        this.volumes = volumes;
        this.starter = starter;
    }

    /** The pod's network holder; if it died, the pod's containers lost their network and start over. */
    Sandbox ensure(HostWorkload w, List<Observed> mine) throws RuntimeFailure {
        Observed pause = PodRunner.latest(mine.stream().filter(o -> Labels.PAUSE.equals(o.label(Labels.CONTAINER))).toList());
        if (pause != null && pause.state().equals("running")) {
            return new Sandbox(pause.id(), pause.addresses(), CompletableFuture.completedFuture(null));
        }
        for (Observed o : mine) {
            runtime.remove(o.id());
        }
        mine.clear();
        // Made for this pod, never ahead of it: Docker cannot label a container after its creation,
        // and every container of a pod carries the pod's labels.
        String workload = w.id().toString();
        String id = createPause(Labels.sandboxName(workload), w, Labels.of(host, workload, w.podUid(), w.tenant(), Labels.PAUSE, 0));
        Sandbox sandbox = new Sandbox(id, Map.of(), CompletableFuture.runAsync(() -> {
            try {
                runtime.start(id);
            } catch (RuntimeFailure f) {
                throw new CompletionException(f);
            }
        }, starter));
        if (w.publish().isEmpty()) {
            return sandbox;
        }
        sandbox.awaitStarted(""); // the relay needs the sandbox's address
        return new Sandbox(id, addresses(id), sandbox.started());
    }

    /** A new sandbox's addresses; when they cannot be read now, the next pass finds them in the listing. */
    Map<String, String> addresses(String id) {
        try {
            return runtime.inspect(id).map(Observed::addresses).orElse(Map.of());
        } catch (RuntimeFailure f) {
            return Map.of();
        }
    }

    private String createPause(String name, HostWorkload w, Map<String, String> labels) throws RuntimeFailure {
        firewall.require();
        String network = networks.ensure(w.tenant()); // by id: a name may match two networks
        // Never pulled: a sandbox image fetched by a mutable tag would run in every pod of the host.
        if (runtime.imageId(pauseImage).isEmpty()) {
            log.error("the pause image {} is not on this host; build it (ansible's host_agent role, or bash dev/services.sh images)", pauseImage);
            throw new RuntimeFailure("CreateContainerError", "this host is missing its pod sandbox image; the pod starts once it has it");
        }
        String id = runtime.create(new Plan(name, pauseImage, labels, List.of(), List.of(), List.of(),
                null, 50_000_000L, 32L << 20, 32, network, List.of(), null, false, false, disk.logMaxBytes(), disk.logMaxFiles(),
                ContainerSettings.sandbox(w.spec(), PodVolumes.shmBytes(w.spec(), PodVolumes.offeringShm(w)), volumes.held(w))));
        return id;
    }
}
