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
import gpufleet.host.images.DiskUsage;
import gpufleet.host.images.ImageGc;
import gpufleet.host.images.ImageRecords;
import gpufleet.host.images.ImageStore;
import gpufleet.host.net.PodFirewall;
import gpufleet.host.net.ProcessTables;
import gpufleet.host.runtime.ContainerRuntime;
import gpufleet.host.runtime.DiskLimits;
import gpufleet.host.runtime.RuntimeFailure;
import gpufleet.host.workload.HostContainers;
import gpufleet.host.workload.WorkloadLoop;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
 * Every loop runs under {@link Loops}: one that fails starts again, one that dies of an Error
 * ends the process, and while any is stale the heartbeat is withheld, so a host that cannot
 * reconcile, report or serve goes not ready instead of taking pods it will not run.
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
    private final AtomicLong heartbeatsWithheld = new AtomicLong();
    private final Semaphore wake = new Semaphore(0);
    private final java.util.function.Consumer<HealthEvent> onHealthEvent;
    /** Generations start at the clock so they keep growing across restarts without being stored. */
    private final AtomicLong generation = new AtomicLong(System.currentTimeMillis());
    private Loops loops = new Loops(Loops.EXIT, Loops.Faults.NONE);
    private Map<String, Duration> deadlineOverrides = Map.of();
    /** The stale loops the heartbeat was last withheld for (empty while heartbeating). */
    private volatile List<String> withheldFor = List.of();
    private volatile boolean running = true;
    /** When the control-api last answered a heartbeat: a host cut off for too long stops its workloads. */
    private volatile long lastContactNanos = System.nanoTime();
    private volatile RegisteredHost host;
    private volatile GpuInventory gpus;
    private volatile GpuSnapshot snapshot;
    private volatile WorkloadLoop workloads;
    private volatile StreamService streams;
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
     * completed reconcile passes (0 before the workload loop starts), and heartbeats withheld
     * because a loop was stale.
     */
    public record Progress(long heartbeatsAccepted, long heartbeatsFailed, long reconcilePasses, long heartbeatsWithheld) {}

    public Progress progress() {
        WorkloadLoop w = workloads;
        return new Progress(heartbeatsAccepted.get(), heartbeatsFailed.get(), w == null ? 0 : w.passes(), heartbeatsWithheld.get());
    }

    /**
     * A seam for tests, before {@link #start}: what a loop dying of an Error does instead of
     * ending the process, faults injected at the loops' turns, and shorter deadlines by loop name.
     */
    Agent supervised(Loops.Fatal fatal, Loops.Faults faults, Map<String, Duration> deadlines) {
        this.loops = new Loops(fatal, faults);
        this.deadlineOverrides = Map.copyOf(deadlines);
        return this;
    }

    Loops loops() {
        return loops;
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
        spawn("heartbeat", atLeast(Duration.ofMinutes(2), config.heartbeatInterval().multipliedBy(10)), this::heartbeatLoop);
        spawn("inventory", atLeast(Duration.ofMinutes(5), config.sweepInterval().multipliedBy(10)), this::inventoryRounds);
        spawn("gpu-health", atLeast(Duration.ofMinutes(5), config.sweepInterval().multipliedBy(10)), this::healthLoop);
        spawn("runtime-check", atLeast(Duration.ofMinutes(5), config.dockerCheckInterval().multipliedBy(3)), this::runtimeLoop);
        if (runtime instanceof ImageStore images && config.imageGc().enabled()) {
            ImageGc gc = new ImageGc(images, DiskUsage.FILESYSTEM, config.imageGc(), Set.of(config.pauseImage()),
                    new ImageRecords(config.stateDir().resolve("image-usage.json")), Clock.systemUTC());
            spawn("image-gc", atLeast(Duration.ofMinutes(15), config.imageGc().interval().multipliedBy(3)), () -> imageGcLoop(gc));
        }
        WorkloadLoop workloads = new WorkloadLoop(api, this::host, containers, config.stateDir(), config.runtime(),
                config.pauseImage(), config.pidsLimit(), config.restartBackoff(), config.resyncInterval(),
                config.cutoffAfter(), () -> Duration.ofNanos(System.nanoTime() - lastContactNanos), config.publishAddress(), firewall,
                new DiskLimits(config.podEphemeralStorage(), config.storageCheckInterval(), config.containerLogMaxBytes(),
                        config.containerLogMaxFiles()));
        this.workloads = workloads;
        // A long poll lasts 30 s; a reconcile pass may pull an image for minutes.
        spawn("workloads", Duration.ofMinutes(5), () -> workloads.pollLoop(this::round));
        StreamService streams = new StreamService(config, api, this::host, containers, workloads, () -> snapshot);
        this.streams = streams;
        spawn("streams", Duration.ofMinutes(5), () -> streams.loop(this::round));
        spawn("reconcile", atLeast(Duration.ofMinutes(15), config.resyncInterval().multipliedBy(10)),
                () -> workloads.reconcileLoop(this::round));
    }

    private void spawn(String name, Duration deadline, Runnable loop) {
        loops.spawn(name, deadlineOverrides.getOrDefault(name, deadline), loop);
    }

    private static Duration atLeast(Duration floor, Duration d) {
        return d.compareTo(floor) > 0 ? d : floor;
    }

    /** The top of a loop's round: marks the last round done; false once the agent stops. */
    private boolean round() {
        return loops.turn() && running;
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
                    log.warn("registration failed ({}); retrying in {} ms", JsonClient.reason(e), wait.toMillis());
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
        log.warn("the control-api refuses this host's credential ({}); registering again", JsonClient.reason(e));
        credentials.delete();
        host = null;
    }

    private void heartbeatLoop() {
        Backoff backoff = new Backoff(Duration.ofSeconds(1), config.heartbeatInterval().multipliedBy(3));
        while (round()) {
            Duration next = config.heartbeatInterval();
            try {
                RegisteredHost h = host();
                if (h == null) {
                    return;
                }
                if (withheld()) {
                    sleep(next);
                    continue;
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
                if (backoff.failures() == 1 || backoff.failures() % 10 == 0) { // an outage is told once, not every beat
                    log.warn("heartbeat refused ({} in a row): {}", backoff.failures(), JsonClient.reason(e));
                }
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

    /**
     * True while a loop is stale: no heartbeat then, so the control-api marks the host not
     * ready and places nothing here. Said once when it starts and once when it ends.
     */
    private boolean withheld() {
        List<String> stale = loops.stale();
        if (!stale.equals(withheldFor)) {
            if (stale.isEmpty()) {
                log.info("every loop is making progress again; heartbeats resume");
            } else {
                log.error("loop(s) {} made no progress within their deadline: withholding heartbeats, so this host goes not ready", stale);
            }
            withheldFor = stale;
        }
        if (!stale.isEmpty()) {
            heartbeatsWithheld.incrementAndGet();
        }
        return !stale.isEmpty();
    }

    private void inventoryRounds() {
        Object sentStructure = null;
        Object sentContent = null;
        long sentAt = 0;
        Backoff backoff = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(60));
        while (round()) {
            long now = System.nanoTime();
            sweep();
            // Generation 1 is a placeholder: drafts are only compared, never sent.
            InventoryReport draft = Reports.build(1, snapshot, conditions(),
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
                    log.warn("inventory report refused: {}", JsonClient.reason(e));
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
        while (round()) {
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

    /** Image garbage collection on its own thread: removing images of many GB takes a while. */
    private void imageGcLoop(ImageGc gc) {
        while (round()) {
            try {
                gc.collect();
            } catch (RuntimeFailure | IOException e) {
                log.warn("ImageGCFailed: {}", e.getMessage());
            }
            sleep(gc.interval());
        }
    }

    private void healthLoop() {
        while (round()) {
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

    /** The holder of each allocated GPU, by UUID, as the control-api last said (empty before the first poll). */
    public Map<String, WorkloadLoop.GpuHolder> gpuHolders() {
        WorkloadLoop w = workloads;
        return w == null ? Map.of() : w.gpuHolders();
    }

    /**
     * What keeps this agent from doing its job, empty when nothing: NVML not read, the container
     * runtime not answering, or no answer from the control-api for {@code silence}. /healthz
     * answers 503 with these reasons.
     */
    public List<String> problems(Duration silence) {
        List<String> out = new ArrayList<>();
        for (HostCondition c : List.of(nvmlCondition, runtimeCondition)) {
            if (!"True".equals(c.status())) {
                out.add(c.type() + " is " + c.status() + ": " + c.reason() + (c.message() == null ? "" : " (" + c.message() + ")"));
            }
        }
        Duration since = Duration.ofNanos(System.nanoTime() - lastContactNanos);
        if (since.compareTo(silence) > 0) {
            out.add("no answer from the control-api for " + since.toSeconds() + " s");
        }
        return out;
    }

    public List<HostCondition> conditions() {
        WorkloadLoop w = workloads;
        HostCondition networks = w == null ? new HostCondition("PodNetworksUnique", "Unknown", "NotYetChecked", null)
                : w.networkCondition();
        return List.of(nvmlCondition, runtimeCondition, firewall.condition(), networks);
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
        loops.close();
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
