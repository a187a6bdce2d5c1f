package gpufleet.bench;

import gpufleet.common.api.ContainerStatus;
import gpufleet.common.api.HostDesired;
import gpufleet.common.api.HostWorkload;
import gpufleet.common.api.RegisteredHost;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.common.api.WorkloadStatusReport;
import gpufleet.host.agent.ControlApiClient;
import java.net.URI;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Stand-ins for hosts whose containers would be too many for this machine: each seeded host
 * (rows from {@link FleetSeed}) follows its desired workloads with the host-agent's own long poll
 * and reports each one's containers running, or gone once stopped, through the real host API; it
 * beats at the production interval. No container runs.
 */
final class SimHosts implements AutoCloseable {
    private final ControlApiClient api;
    private final List<Thread> threads = new ArrayList<>();
    private final ScheduledExecutorService beats = Executors.newSingleThreadScheduledExecutor();
    private volatile boolean running = true;

    SimHosts(String base, List<FleetSeed.SeededHost> hosts) {
        this.api = new ControlApiClient(URI.create(base));
        List<RegisteredHost> registered = hosts.stream().map(h -> new RegisteredHost(h.id(), "sim", h.token())).toList();
        beats.scheduleWithFixedDelay(() -> registered.forEach(h -> {
            try {
                api.heartbeat(h);
            } catch (Exception e) {
                System.err.println("sim host " + h.hostId() + ": heartbeat failed: " + e.getMessage());
            }
        }), 0, 10, TimeUnit.SECONDS);
        for (RegisteredHost h : registered) {
            Thread t = new Thread(() -> follow(h), "sim-host");
            t.setDaemon(true);
            t.start();
            threads.add(t);
        }
    }

    private void follow(RegisteredHost h) {
        Set<UUID> reported = new HashSet<>();
        Long version = null;
        while (running) {
            try {
                HostDesired d = api.desired(h, version, 30);
                version = d.version();
                for (HostWorkload w : d.workloads()) {
                    if (w.stop() && reported.remove(w.id())) {
                        api.workloadStatus(h, w.id(), new WorkloadStatusReport(2L, List.of(), true));
                    } else if (!w.stop() && reported.add(w.id())) {
                        List<ContainerStatus> up = new ArrayList<>();
                        for (WorkloadSpec.Container c : w.spec().containers()) {
                            up.add(new ContainerStatus(c.name(), "running", null, null, null, 0, Instant.now(), null,
                                    "sim-" + w.id(), c.image(), true, null));
                        }
                        api.workloadStatus(h, w.id(), new WorkloadStatusReport(1L, up, false));
                    }
                }
            } catch (Exception e) {
                if (running) {
                    System.err.println("sim host " + h.hostId() + ": " + e.getMessage());
                    sleep();
                }
            }
        }
    }

    private static void sleep() {
        try {
            Thread.sleep(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        running = false;
        beats.shutdownNow();
        threads.forEach(Thread::interrupt);
    }
}
