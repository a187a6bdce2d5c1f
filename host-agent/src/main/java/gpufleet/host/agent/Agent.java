package gpufleet.host.agent;

import gpufleet.common.http.JsonClient;
import gpufleet.common.api.HostCondition;
import gpufleet.common.api.InventoryReport;
import gpufleet.common.api.RegisteredHost;
import gpufleet.common.api.ReportResult;
import gpufleet.host.gpu.GpuInventory;
import gpufleet.host.gpu.GpuSnapshot;
import gpufleet.host.gpu.GpuUnavailableException;
import gpufleet.host.gpu.HealthEvent;
import gpufleet.common.api.StreamEndpoint;
import gpufleet.common.stream.Tickets;
import gpufleet.host.net.PodFirewall;
import gpufleet.host.net.ProcessTables;
import gpufleet.host.runtime.ContainerRuntime;
import gpufleet.host.stream.ContainerStreams;
import gpufleet.host.stream.PodStatsReader;
import gpufleet.host.stream.StreamServer;
import gpufleet.host.workload.HostContainers;
import gpufleet.host.workload.WorkloadLoop;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's loops: register once, heartbeat on its own thread, sweep the GPUs and report on
 * another, and watch NVML health events on a third. A transient failure is retried with
 * back-off and jitter; the agent never exits because the control-api, NVML or Docker is down.
 */
public final class Agent implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Agent.class);
    public static final String NVML_CONDITION = "NvmlReady";

    private final AgentConfig config;
    private final ControlApiClient api;
    private final CredentialStore credentials;
    private final Supplier<GpuInventory> gpuFactory;
    private final ContainerRuntime runtime;
    /** This host's containers: every agent on a shared Docker Engine sees only its own. */
    private final HostContainers containers;
    /** The walls around pod networks; up before the first pod, repaired on every runtime check. */
    private final PodFirewall firewall;
    private final AtomicLong heartbeatsAccepted = new AtomicLong();
    private final AtomicLong heartbeatsFailed = new AtomicLong();
    private final Semaphore wake = new Semaphore(0);
    private final java.util.function.Consumer<HealthEvent> onHealthEvent;
    /** Generations start at the clock so they keep growing across restarts without being stored. */
    private final AtomicLong generation = new AtomicLong(System.currentTimeMillis());
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean running = true;
    /** When the control-api last answered a heartbeat: a host cut off for too long stops its workloads. */
    private volatile long lastContactNanos = System.nanoTime();
    private volatile RegisteredHost host;
    private volatile GpuInventory gpus;
    private volatile GpuSnapshot snapshot;
    private volatile WorkloadLoop workloads;
    private volatile StreamServer streams;
    private volatile HostCondition nvmlCondition = new HostCondition(NVML_CONDITION, "Unknown", "NotYetRead", null);
    private volatile HostCondition runtimeCondition = new HostCondition(ContainerRuntime.CONDITION, "Unknown", "NotYetChecked", null);

    public Agent(AgentConfig config, ControlApiClient api, Supplier<GpuInventory> gpuFactory, ContainerRuntime runtime,
                 java.util.function.Consumer<HealthEvent> onHealthEvent) {
        this.onHealthEvent = onHealthEvent;
        this.config = config;
        this.api = api;
        this.credentials = new CredentialStore(config.stateDir());
        this.gpuFactory = gpuFactory;
        this.runtime = runtime;
        this.containers = new HostContainers(runtime, config.hostName());
        this.firewall = new PodFirewall(config.podFirewall(), config.podDenied(),
                ProcessTables.resolvers(Path.of("/etc/resolv.conf")), new ProcessTables());
    }

    /**
     * What the agent has done so far, for whoever needs to know that something happened rather
     * than guess it from the clock: heartbeats the control-api accepted and ones that failed, and
     * completed reconcile passes (0 before the workload loop starts).
     */
    public record Progress(long heartbeatsAccepted, long heartbeatsFailed, long reconcilePasses) {}

    public Progress progress() {
        WorkloadLoop w = workloads;
        return new Progress(heartbeatsAccepted.get(), heartbeatsFailed.get(), w == null ? 0 : w.passes());
    }

    public void start() {
        host = credentials.load();
        if (host != null && !host.name().equals(config.hostName())) {
            log.warn("{} holds the credential of host {}, but this agent is configured as {}; registering as {}",
                    credentials.file(), host.name(), config.hostName(), config.hostName());
            host = null;
        }
        if (host == null && config.joinToken() == null) {
            throw new IllegalStateException("no credential in " + credentials.file() + " and no GPUFLEET_JOIN_TOKEN to register with");
        }
        firewall.ensure();
        spawn("heartbeat", this::heartbeatLoop);
        spawn("inventory", this::inventoryLoop);
        spawn("gpu-health", this::healthLoop);
        spawn("runtime-check", this::runtimeLoop);
        WorkloadLoop workloads = new WorkloadLoop(api, this::host, containers, config.stateDir(), config.runtime(),
                config.pauseImage(), config.pidsLimit(), config.restartBackoff(), config.resyncInterval(),
                config.cutoffAfter(), () -> Duration.ofNanos(System.nanoTime() - lastContactNanos), config.publishAddress(), firewall);
        this.workloads = workloads;
        spawn("workloads", () -> workloads.pollLoop(() -> running));
        spawn("streams", this::streamsLoop);
        spawn("reconcile", () -> workloads.reconcileLoop(() -> running));
    }

    private void spawn(String name, Runnable loop) {
        Thread t = new Thread(loop, name);
        t.setDaemon(true);
        threads.add(t);
        t.start();
    }

    /** Blocks until the host has a credential (registering with the join token if needed). */
    private RegisteredHost host() throws InterruptedException {
        Backoff backoff = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(60));
        synchronized (this) {
            while (running && host == null) {
                try {
                    RegisteredHost h = api.register(config.hostName(), config.joinToken());
                    credentials.save(h);
                    host = h;
                    log.info("registered as host {} ({}); credential stored in {}", h.name(), h.hostId(), credentials.file());
                } catch (IOException | JsonClient.Refused e) {
                    Duration wait = backoff.next();
                    log.warn("registration failed ({}); retrying in {} ms", e.getMessage(), wait.toMillis());
                    wait(wait.toMillis());
                }
            }
            return host;
        }
    }

    /** The control-api refused our credential: forget it and register again, if we can. */
    private synchronized void credentialRejected(RegisteredHost rejected, JsonClient.Refused e) {
        if (host != rejected) {
            return;
        }
        if (config.joinToken() == null) {
            log.error("the control-api refuses this host's credential ({}) and there is no join token to register again", e.getMessage());
            return;
        }
        log.warn("the control-api refuses this host's credential ({}); registering again", e.getMessage());
        credentials.delete();
        host = null;
    }

    private void heartbeatLoop() {
        Backoff backoff = new Backoff(Duration.ofSeconds(1), config.heartbeatInterval().multipliedBy(3));
        while (running) {
            Duration next = config.heartbeatInterval();
            try {
                RegisteredHost h = host();
                if (h == null) {
                    return;
                }
                api.heartbeat(h);
                lastContactNanos = System.nanoTime();
                heartbeatsAccepted.incrementAndGet();
                if (backoff.failures() > 0) {
                    log.info("control-api reachable again after {} failed heartbeat(s)", backoff.failures());
                    wake.release();
                }
                backoff.reset();
            } catch (JsonClient.Refused e) {
                heartbeatsFailed.incrementAndGet();
                if (e.status() == 401 || e.status() == 403) {
                    credentialRejected(host, e);
                }
                next = backoff.next();
                log.warn("heartbeat refused: {}", e.getMessage());
            } catch (IOException e) {
                heartbeatsFailed.incrementAndGet();
                next = backoff.next();
                if (backoff.failures() == 1 || backoff.failures() % 10 == 0) {
                    log.warn("control-api unreachable ({} failed heartbeat(s)): {}", backoff.failures(), e.toString());
                }
            } catch (InterruptedException e) {
                return;
            }
            sleep(next);
        }
    }

    private void inventoryLoop() {
        while (running) {
            try {
                inventoryRounds();
                return;
            } catch (RuntimeException e) {
                // A bug must not silence the host for good: log it, pause, carry on.
                log.error("inventory loop failed; restarting it in 5 s", e);
                sleep(Duration.ofSeconds(5));
            }
        }
    }

    private void inventoryRounds() {
        Object sentStructure = null;
        Object sentContent = null;
        long sentAt = 0;
        Backoff backoff = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(60));
        while (running) {
            long now = System.nanoTime();
            sweep();
            // Generation 1 is a placeholder: drafts are only compared, never sent.
            InventoryReport draft = Reports.build(1, snapshot, List.of(nvmlCondition, runtimeCondition, firewall.condition()),
                    HostFacts.cpuMillis(), HostFacts.memoryBytes(), config.reservedCpuMillis(), config.reservedMemoryBytes());
            boolean changed = !Reports.structure(draft).equals(sentStructure);
            boolean drifted = !Reports.content(draft).equals(sentContent)
                    && now - sentAt >= config.telemetryInterval().toNanos();
            boolean due = now - sentAt >= config.fullReportInterval().toNanos();
            Duration wait = config.sweepInterval();
            if (sentStructure == null || changed || drifted || due) {
                try {
                    RegisteredHost h = host();
                    if (h == null) {
                        return;
                    }
                    ReportResult r = api.report(h, Reports.build(generation.incrementAndGet(), snapshot,
                            draft.conditions(), draft.resources().cpuMillis(), draft.resources().memoryBytes(),
                            config.reservedCpuMillis(), config.reservedMemoryBytes()));
                    if (!r.applied()) {
                        generation.set(Math.max(generation.get(), r.generation()));
                    }
                    sentStructure = Reports.structure(draft);
                    sentContent = Reports.content(draft);
                    sentAt = now;
                    backoff.reset();
                } catch (JsonClient.Refused e) {
                    if (e.status() == 401 || e.status() == 403) {
                        credentialRejected(host, e);
                    }
                    log.warn("inventory report refused: {}", e.getMessage());
                    wait = backoff.next();
                } catch (IOException e) {
                    wait = backoff.next();
                } catch (InterruptedException e) {
                    return;
                }
            }
            try {
                if (wake.tryAcquire(wait.toMillis(), TimeUnit.MILLISECONDS)) {
                    wake.drainPermits();
                }
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /**
     * Serves kubectl's streams for this host's pods and tells the control-api where, with a key
     * made at each start; told again whenever the host registers anew.
     */
    private void streamsLoop() {
        String key = Tickets.newKey();
        WorkloadLoop w = workloads;
        PodStatsReader.GpuLookup gpuLookup = new PodStatsReader.GpuLookup() {
            @Override
            public List<String> gpusOf(String workload) {
                return w.gpusOf(workload);
            }

            @Override
            public java.util.Map<String, gpufleet.host.gpu.Gpu> telemetry() {
                GpuSnapshot s = snapshot;
                java.util.Map<String, gpufleet.host.gpu.Gpu> byUuid = new java.util.HashMap<>();
                if (s != null) {
                    s.gpus().forEach(g -> byUuid.put(g.uuid(), g));
                }
                return byUuid;
            }
        };
        StreamServer server;
        try {
            server = new StreamServer(config.publishAddress(), config.streamPort(), key,
                    new ContainerStreams(containers, config.dockerHost(), gpuLookup));
        } catch (java.io.UncheckedIOException e) {
            log.error("kubectl logs/exec/attach/port-forward will not reach this host: {}", e.getMessage());
            return;
        }
        streams = server;
        StreamEndpoint endpoint = new StreamEndpoint(server.address(), key);
        Backoff backoff = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(60));
        RegisteredHost told = null;
        while (running) {
            try {
                RegisteredHost h = host();
                if (h == null) {
                    return;
                }
                if (h != told) {
                    api.streams(h, endpoint);
                    told = h;
                    log.info("serving streams on {}", endpoint.address());
                    backoff.reset();
                }
                sleep(Duration.ofSeconds(5));
            } catch (IOException | JsonClient.Refused e) {
                Duration wait = backoff.next();
                log.warn("cannot tell the control-api where streams are served ({}); retrying in {} ms", e.getMessage(), wait.toMillis());
                sleep(wait);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** One sweep; NVML that cannot be used becomes a host condition, retried on the next sweep. */
    private void sweep() {
        try {
            if (gpus == null) {
                gpus = gpuFactory.get();
            }
            GpuSnapshot s = gpus.sweep();
            snapshot = s;
            String message = s.gpus().size() + " GPU(s)" + (s.notes().isEmpty() ? "" : "; " + String.join("; ", s.notes()));
            setNvml(new HostCondition(NVML_CONDITION, "True", "NvmlInitialized", message));
        } catch (GpuUnavailableException e) {
            snapshot = null;
            setNvml(new HostCondition(NVML_CONDITION, "False", e.reason(), e.getMessage()));
        } catch (RuntimeException e) {
            setNvml(new HostCondition(NVML_CONDITION, "False", "SweepFailed", String.valueOf(e.getMessage())));
            log.warn("GPU sweep failed", e);
        }
    }

    private void setNvml(HostCondition c) {
        if (!c.equals(nvmlCondition) && !c.status().equals(nvmlCondition.status())) {
            log.info("{} {}: {} ({})", c.type(), c.status(), c.reason(), c.message());
        }
        nvmlCondition = c;
    }

    /** Checks the container runtime on its own thread: a hanging daemon must not stop the reports. */
    private void runtimeLoop() {
        while (running) {
            HostCondition walls = firewall.condition();
            if (!firewall.ensure().equals(walls)) {
                wake.release();
            }
            HostCondition c = runtime.check();
            if (!c.status().equals(runtimeCondition.status())) {
                log.info("{} {}: {} ({})", c.type(), c.status(), c.reason(), c.message());
            }
            if (!c.equals(runtimeCondition)) {
                runtimeCondition = c;
                wake.release();
            }
            sleep(config.dockerCheckInterval());
        }
    }

    private void healthLoop() {
        while (running) {
            GpuInventory g = gpus;
            if (g == null || snapshot == null) {
                sleep(config.sweepInterval());
                continue;
            }
            HealthEvent e = g.awaitHealthEvent(Duration.ofSeconds(1));
            if (e != null) {
                onHealthEvent.accept(e);
                wake.release();
            }
        }
    }

    public GpuSnapshot snapshot() {
        return snapshot;
    }

    public List<HostCondition> conditions() {
        return List.of(nvmlCondition, runtimeCondition, firewall.condition());
    }

    private void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            running = false;
        }
    }

    @Override
    public void close() {
        running = false;
        synchronized (this) {
            notifyAll();
        }
        threads.forEach(Thread::interrupt);
        for (Thread t : threads) {
            try {
                t.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (streams != null) {
            streams.close();
        }
        if (workloads != null) {
            workloads.close();
        }
        if (gpus != null) {
            gpus.close();
        }
        runtime.close();
    }
}
