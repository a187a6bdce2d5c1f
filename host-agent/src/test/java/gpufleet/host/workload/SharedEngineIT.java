package gpufleet.host.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.Event;
import com.github.dockerjava.api.model.EventType;
import com.github.dockerjava.api.model.HostConfig;
import gpufleet.common.api.RegisteredHost;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Inventories;
import gpufleet.control.support.Pods;
import gpufleet.host.agent.ControlApiClient;
import gpufleet.host.docker.DockerRuntime;
import java.net.InetAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several hosts' agents on one Docker Engine, as dev/run.sh runs its simulated hosts: each agent
 * touches only the containers of its own host. The workload loops are wired as the agent wires
 * them, against a real control-api that placed the pods and the real Docker Engine.
 */
class SharedEngineIT {
    static final String DOCKER = "unix:///var/run/docker.sock";
    static DockerClient docker;

    @TempDir
    Path state;
    ApiFixture fx;
    String tenant;
    final List<HostLoop> loops = new ArrayList<>();

    @BeforeAll
    static void docker() {
        docker = TestEngine.client();
    }

    @AfterAll
    static void closeDocker() throws Exception {
        docker.close();
    }

    @BeforeEach
    void start() {
        removeAll();
        // Hosts here heartbeat once: liveness must not get in the way of what is tested.
        fx = ApiFixture.start(Map.of("GPUFLEET_HEARTBEAT_GRACE", "10m", "GPUFLEET_LOST_AFTER", "20m"));
        fx.seedOfferings();
        tenant = fx.tenant("skg00000", List.of("seeweb-nvidia-1xa6000"));
    }

    @AfterEach
    void stop() {
        loops.forEach(HostLoop::close);
        fx.close();
        removeAll();
    }

    private static void removeAll() {
        TestEngine.removeManaged(docker);
    }

    /** One host: registered with the seed's 8 GPUs, and its workload loop on the agent's two threads. */
    private final class HostLoop implements AutoCloseable {
        final ApiFixture.Host host;
        final DockerRuntime runtime = new DockerRuntime(DOCKER, "nvidia");
        final List<Thread> threads = new ArrayList<>();
        volatile boolean running = true;
        WorkloadLoop loop;

        HostLoop(String name) {
            host = fx.register(name);
            fx.heartbeat(host);
            fx.report(host, Inventories.seedPool(name, 1));
            loops.add(this);
        }

        HostLoop start() {
            RegisteredHost registered = new RegisteredHost(UUID.fromString(host.id()), host.name(), host.token());
            loop = new WorkloadLoop(new ControlApiClient(URI.create("http://127.0.0.1:" + fx.api.port())), () -> registered,
                    new HostContainers(runtime, host.name()), state.resolve(host.name()), "nvidia", "gpufleet/pause:test", 4096,
                    Duration.ofSeconds(1), Duration.ofMillis(200), Duration.ofMinutes(10), () -> Duration.ZERO,
                    InetAddress.getLoopbackAddress(), TestEngine.firewall(), gpufleet.host.runtime.DiskLimits.DEFAULTS);
            spawn("poll", () -> loop.pollLoop(() -> running));
            spawn("reconcile", () -> loop.reconcileLoop(() -> running));
            return this;
        }

        private void spawn(String what, Runnable r) {
            Thread t = new Thread(r, host.name() + "-" + what);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }

        long passes() {
            return loop.passes();
        }

        @Override
        public void close() {
            running = false;
            threads.forEach(Thread::interrupt);
            for (Thread t : threads) {
                try {
                    t.join(10_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (loop != null) {
                loop.close();
            }
            runtime.close();
        }
    }

    private JsonNode workload(String uid) {
        return fx.http.get("/v1/tenants/skg00000/workloads/" + uid, tenant).json();
    }

    /** Posts a small pod (this machine has 2 cores) and waits until the control-api placed it on {@code host}. */
    private String place(String uid, HostLoop host) {
        Map<String, Object> pod = Pods.pod(uid, uid, "seeweb-nvidia-1xa6000", List.of(Pods.container("nvidia", 1, "100m", "64Mi")));
        pod.put("terminationGracePeriodSeconds", 1);
        assertThat(fx.http.post("/v1/tenants/skg00000/workloads", tenant, pod).status()).isEqualTo(201);
        await().atMost(Duration.ofSeconds(30)).until(() -> !workload(uid).path("hostId").isNull());
        assertThat(workload(uid).path("hostId").asText()).as("placed on %s", host.host.name()).isEqualTo(host.host.id());
        return workload(uid).get("id").asText();
    }

    /** Container id → name of every container carrying the labels, as the engine lists them. */
    private static Map<String, String> containers(Map<String, String> labels) {
        Map<String, String> out = new TreeMap<>();
        docker.listContainersCmd().withShowAll(true).withLabelFilter(labels).exec()
                .forEach(c -> out.put(c.getId(), c.getNames()[0]));
        return out;
    }

    /** "action name" of each container destroyed or created since {@code since} (seconds, with a fraction) of these hosts. */
    private static List<String> churn(String since, List<String> hosts) throws InterruptedException {
        List<String> seen = new ArrayList<>();
        String until = engineTime(Instant.now());
        docker.eventsCmd().withSince(since).withUntil(until).withEventTypeFilter(EventType.CONTAINER)
                .withEventFilter("create", "destroy").withLabelFilter(Labels.MANAGED + "=true")
                .exec(new ResultCallback.Adapter<Event>() {
                    @Override
                    public void onNext(Event e) {
                        Map<String, String> a = e.getActor() == null ? Map.of() : e.getActor().getAttributes();
                        if (hosts.contains(a.get(Labels.HOST))) {
                            seen.add(e.getAction() + " " + a.get("name") + " (host " + a.get(Labels.HOST) + ")");
                        }
                    }
                }).awaitCompletion();
        return seen;
    }

    /** A time as the engine's event filters take it: seconds since the epoch, with a fraction. */
    private static String engineTime(Instant t) {
        return String.format("%d.%09d", t.getEpochSecond(), t.getNano());
    }

    @Test
    void twoHostsOnOneEngineNeverRemoveOrRecreateEachOthersContainers() throws Exception {
        HostLoop a = new HostLoop("engine-a").start();
        List<String> workloads = new ArrayList<>(List.of(place("uid-a1", a), place("uid-a2", a)));
        HostLoop b = new HostLoop("engine-b").start();
        assertThat(fx.http.post("/v1/hosts/engine-a/cordon", ApiFixture.OPERATOR, null).status()).isEqualTo(200);
        workloads.addAll(List.of(place("uid-b1", b), place("uid-b2", b)));
        await().atMost(Duration.ofSeconds(60)).until(() -> List.of("uid-a1", "uid-a2", "uid-b1", "uid-b2").stream()
                .allMatch(uid -> workload(uid).path("phase").asText().equals("running")));
        for (String w : workloads) {
            assertThat(containers(Map.of(Labels.WORKLOAD, w))).as("workload %s: its pause and app containers", w).hasSize(2);
        }
        Map<String, String> before = containers(Map.of(Labels.MANAGED, "true"));
        assertThat(before).hasSize(8);
        assertThat(containers(Map.of(Labels.HOST, "engine-a"))).hasSize(4);
        assertThat(containers(Map.of(Labels.HOST, "engine-b"))).hasSize(4);

        String since = engineTime(Instant.now());
        long passesA = a.passes();
        long passesB = b.passes();
        // Many passes each, counted rather than timed; any churn ends the wait at once.
        List<String> hosts = List.of("engine-a", "engine-b");
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500)).until(() ->
                (a.passes() >= passesA + 30 && b.passes() >= passesB + 30) || !churn(since, hosts).isEmpty());
        assertThat(churn(since, hosts)).as("containers removed or created after both hosts ran their pods "
                + "(passes: engine-a %d, engine-b %d)", a.passes() - passesA, b.passes() - passesB).isEmpty();
        assertThat(containers(Map.of(Labels.MANAGED, "true"))).as("the same containers, none recreated").isEqualTo(before);
        for (String uid : List.of("uid-a1", "uid-a2", "uid-b1", "uid-b2")) {
            assertThat(workload(uid).at("/containers/0/restartCount").asInt()).as("%s restarts", uid).isZero();
        }
    }

    @Test
    void anAgentRemovesOnlyItsOwnStrayContainers() {
        HostLoop a = new HostLoop("engine-a").start();
        String nobody = UUID.randomUUID().toString();
        String mine = stray("stray-mine", Map.of(Labels.HOST, "engine-a", Labels.WORKLOAD, nobody));
        String others = stray("stray-others", Map.of(Labels.HOST, "engine-b", Labels.WORKLOAD, nobody));
        String unlabelled = stray("stray-unlabelled", Map.of(Labels.WORKLOAD, nobody));
        await().atMost(Duration.ofSeconds(30)).until(() -> docker.listContainersCmd().withShowAll(true)
                .withIdFilter(List.of(mine)).exec().isEmpty());
        long passes = a.passes();
        await().atMost(Duration.ofSeconds(60)).until(() -> a.passes() >= passes + 5);
        assertThat(containers(Map.of(Labels.MANAGED, "true")).keySet())
                .as("another host's container and one no host label vouches for are left alone")
                .containsExactlyInAnyOrder(others, unlabelled);
    }

    /** A container of nobody's workload, labelled as an agent would label it, plus {@code labels}. */
    private static String stray(String name, Map<String, String> labels) {
        Map<String, String> all = new TreeMap<>(Map.of(Labels.MANAGED, "true", Labels.CONTAINER, "x", Labels.ATTEMPT, "0"));
        all.putAll(labels);
        return docker.createContainerCmd("gpufleet/busybox:test").withName(name + "-" + UUID.randomUUID())
                .withCmd("sleep", "3600").withLabels(all).exec().getId();
    }

    @Test
    void anUpgradedAgentAdoptsTheContainersAnOlderOneMadeWithoutAHostLabel() {
        HostLoop a = new HostLoop("engine-a");
        String id = place("uid-old", a);
        // As an agent before host labels left the pod: a spare pause container the pod claimed
        // (renamed to it, without the workload label) and the app container joined to it.
        ensureTenantNetwork();
        String pause = docker.createContainerCmd("gpufleet/pause:test").withName("gf-" + id + "-pod")
                .withLabels(Map.of(Labels.MANAGED, "true", Labels.SPARE_FOR, "skg00000", Labels.TENANT, "skg00000",
                        Labels.CONTAINER, Labels.PAUSE, Labels.ATTEMPT, "0"))
                .withHostConfig(HostConfig.newHostConfig().withNetworkMode(TenantNetworks.name("skg00000"))).exec().getId();
        docker.startContainerCmd(pause).exec();
        String app = docker.createContainerCmd("gpufleet/busybox:test").withName("gf-" + id + "-nvidia-0").withCmd("sleep", "3600")
                .withLabels(Map.of(Labels.MANAGED, "true", Labels.WORKLOAD, id, Labels.POD_UID, "uid-old", Labels.TENANT, "skg00000",
                        Labels.CONTAINER, "nvidia", Labels.ATTEMPT, "0"))
                .withHostConfig(HostConfig.newHostConfig().withNetworkMode("container:" + pause)).exec().getId();
        docker.startContainerCmd(app).exec();
        String stranger = stray("old-stranger", Map.of(Labels.WORKLOAD, UUID.randomUUID().toString()));

        a.start();
        await().atMost(Duration.ofSeconds(60)).until(() -> a.passes() >= 5);
        assertThat(workload("uid-old").at("/containers/0/containerId").asText()).as("the older agent's container, adopted")
                .isEqualTo("docker://" + app);
        assertThat(workload("uid-old").get("phase").asText()).isEqualTo("running");
        assertThat(containers(Map.of(Labels.MANAGED, "true")).keySet()).as("nothing recreated, nothing removed")
                .containsExactlyInAnyOrder(pause, app, stranger);

        fx.http.delete("/v1/tenants/skg00000/workloads/uid-old", tenant);
        await().atMost(Duration.ofSeconds(60)).until(() -> workload("uid-old").get("phase").asText().equals("deleted"));
        assertThat(containers(Map.of(Labels.MANAGED, "true")).keySet()).as("the adopted pod removed with its workload, "
                + "the container of a workload this host never ran left alone").containsExactly(stranger);
    }

    /** The tenant network exists before the hand-made pause container starts on it, as the older agent made sure. */
    private static void ensureTenantNetwork() {
        String name = TenantNetworks.name("skg00000");
        if (docker.listNetworksCmd().withNameFilter(name).exec().stream().noneMatch(n -> n.getName().equals(name))) {
            docker.createNetworkCmd().withName(name).withDriver("bridge")
                    .withLabels(Map.of(Labels.MANAGED, "true", Labels.TENANT, "skg00000")).exec();
        }
    }
}
