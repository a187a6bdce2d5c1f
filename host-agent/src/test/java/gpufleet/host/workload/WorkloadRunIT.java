package gpufleet.host.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.model.Container;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Http;
import gpufleet.control.support.Pods;
import gpufleet.host.SimNvml;
import gpufleet.host.agent.Agent;
import gpufleet.host.agent.AgentConfig;
import gpufleet.host.agent.ControlApiClient;
import gpufleet.host.docker.DockerRuntime;
import gpufleet.host.nvml.NvmlGpuInventory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pods sent to a real control-api run as real Docker containers through a real host-agent on the simulated NVML. */
class WorkloadRunIT {
    /** The private registry from dev/services.sh: basic auth, holding gpufleet/busybox:test. */
    private static final String REGISTRY = "127.0.0.1:5000";
    private static final Map<String, String> REGISTRY_SECRET = Map.of("registry", REGISTRY, "username", "gpufleet",
            "password", "gpufleet-pull");
    private static final String PRIVATE_IMAGE = REGISTRY + "/gpufleet/busybox:test";
    static DockerClient docker;

    @TempDir
    Path state;
    ApiFixture fx;
    Agent agent;
    String tenant;

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
        SimNvml.defaults();
        removeAll();
        fx = ApiFixture.start();
        fx.seedOfferings();
        tenant = fx.tenant("skg00000", List.of("seeweb-nvidia-1xa6000", "seeweb-nvidia-2xa6000"));
        agent = startAgent();
        await().atMost(Duration.ofSeconds(15)).until(() -> fx.http.get("/v1/hosts/gpu-run", ApiFixture.OPERATOR).json()
                .at("/host/gpus/free").asInt() == 8);
    }

    @AfterEach
    void stop() {
        if (agent != null) {
            agent.close();
        }
        fx.close();
        removeAll();
    }

    private Agent startAgent() {
        return startAgent(Map.of());
    }

    private Agent startAgent(Map<String, String> extra) {
        Map<String, String> env = new HashMap<>();
        env.put("GPUFLEET_CONTROL_API_URL", "http://127.0.0.1:" + fx.api.port());
        env.put("GPUFLEET_JOIN_TOKEN", fx.joinToken());
        env.put("GPUFLEET_STATE_DIR", state.toString());
        env.put("GPUFLEET_HEARTBEAT_INTERVAL", "500ms");
        env.put("GPUFLEET_SWEEP_INTERVAL", "500ms");
        env.put("GPUFLEET_RESYNC_INTERVAL", "300ms");
        env.put("GPUFLEET_RESTART_BACKOFF", "1s");
        env.put("GPUFLEET_RESERVED_CPU", "0");
        env.put("GPUFLEET_RESERVED_MEMORY", "0");
        env.put("GPUFLEET_STREAM_PORT", "0");
        env.putAll(extra);
        AgentConfig config = AgentConfig.fromEnvironment(env, "gpu-run");
        Agent a = new Agent(config, new ControlApiClient(config.controlApi()), () -> new NvmlGpuInventory(SimNvml.library()),
                new DockerRuntime(config.dockerHost(), config.runtime()), e -> { });
        a.start();
        return a;
    }

    private static void removeAll() {
        TestEngine.removeManaged(docker);
    }

    private JsonNode workload(String uid) {
        return fx.http.get("/v1/tenants/skg00000/workloads/" + uid, tenant).json();
    }

    private static Optional<InspectContainerResponse> container(String uid, String name) {
        return docker.listContainersCmd().withShowAll(true).withLabelFilter(Map.of("org.gpufleet.pod-uid", uid,
                        "org.gpufleet.container", name)).exec().stream()
                .max((x, y) -> Integer.compare(Integer.parseInt(x.getLabels().get("org.gpufleet.attempt")),
                        Integer.parseInt(y.getLabels().get("org.gpufleet.attempt"))))
                .flatMap(c -> {
                    try {
                        return Optional.of(docker.inspectContainerCmd(c.getId()).exec());
                    } catch (com.github.dockerjava.api.exception.NotFoundException e) {
                        return Optional.empty(); // removed between the listing and now: the agent replaced it
                    }
                });
    }

    private static String env(InspectContainerResponse c, String name) {
        return Arrays.stream(c.getConfig().getEnv()).filter(e -> e.startsWith(name + "=")).map(e -> e.substring(name.length() + 1))
                .findFirst().orElse(null);
    }

    @Test
    void theSeedPodRunsPinnedToItsGpuWithTheNvidiaRuntimeLimitsAndHardening() {
        Map<String, Object> pod = Pods.seedPod("uid-seed");
        @SuppressWarnings("unchecked")
        Map<String, Object> c = (Map<String, Object>) ((List<?>) pod.get("containers")).get(0);
        c.put("env", List.of(Map.of("name", "NVIDIA_VISIBLE_DEVICES", "value", "all"), Map.of("name", "GREETING", "value", "hi")));
        assertThat(fx.http.post("/v1/tenants/skg00000/workloads", tenant, pod).status()).isEqualTo(201);
        await().atMost(Duration.ofSeconds(20)).until(() -> workload("uid-seed").get("phase").asText().equals("running"));
        String gpu = workload("uid-seed").at("/gpus/nvidia/0").asText();
        InspectContainerResponse i = container("uid-seed", "nvidia").orElseThrow();
        assertThat(i.getState().getRunning()).isTrue();
        assertThat(i.getHostConfig().getRuntime()).isEqualTo("nvidia");
        assertThat(env(i, "NVIDIA_VISIBLE_DEVICES")).as("the pin, not the tenant's 'all'").isEqualTo(gpu);
        assertThat(env(i, "NVIDIA_DRIVER_CAPABILITIES")).isEqualTo("compute,utility");
        assertThat(env(i, "GREETING")).isEqualTo("hi");
        assertThat(i.getHostConfig().getMemory()).isEqualTo(16L << 30);
        assertThat(i.getHostConfig().getMemorySwap()).isEqualTo(16L << 30);
        assertThat(i.getHostConfig().getNanoCPUs()).isEqualTo(2_000_000_000L);
        assertThat(i.getHostConfig().getSecurityOpts()).contains("no-new-privileges");
        assertThat(i.getHostConfig().getPrivileged()).isFalse();
        assertThat(i.getHostConfig().getPidsLimit()).isEqualTo(4096L);
        assertThat(i.getHostConfig().getNetworkMode()).startsWith("container:");
        assertThat(fx.http.get("/v1/tenants/skg00000/node", tenant).json().at("/allocatable/nvidia.com~1gpu").asText()).isEqualTo("7");
    }

    @Test
    void twoContainersGetTheirOwnGpusAndReachEachOtherOnLocalhost() {
        Map<String, Object> server = Pods.container("nvidia-one", 1, "500m", "1Gi");
        server.put("command", List.of("sh", "-c", "mkdir -p /www && echo pong > /www/index.html && exec httpd -f -p 8080 -h /www"));
        Map<String, Object> client = Pods.container("nvidia-two", 1, "500m", "1Gi");
        client.put("command", List.of("sh", "-c",
                "for i in $(seq 1 30); do wget -qO- http://127.0.0.1:8080/ | grep -q pong && exit 0; sleep 1; done; exit 1"));
        Map<String, Object> pod = Pods.pod("uid-pair", "nvidia-smi-double", "seeweb-nvidia-2xa6000", List.of(server, client));
        pod.put("restartPolicy", "Never");
        fx.http.post("/v1/tenants/skg00000/workloads", tenant, pod);
        await().atMost(Duration.ofSeconds(40)).until(() -> {
            JsonNode w = workload("uid-pair");
            return w.path("containers").size() == 2 && "terminated".equals(w.at("/containers/1/state").asText());
        });
        JsonNode w = workload("uid-pair");
        assertThat(w.at("/containers/1/exitCode").asInt()).as("the second container reached the first on localhost").isZero();
        String one = env(container("uid-pair", "nvidia-one").orElseThrow(), "NVIDIA_VISIBLE_DEVICES");
        String two = env(container("uid-pair", "nvidia-two").orElseThrow(), "NVIDIA_VISIBLE_DEVICES");
        assertThat(one).isEqualTo(w.at("/gpus/nvidia-one/0").asText());
        assertThat(two).isEqualTo(w.at("/gpus/nvidia-two/0").asText());
        assertThat(one).isNotEqualTo(two);
    }

    @Test
    void restartPoliciesAreHonoured() {
        // This test machine has 2 cores: small requests so that all three pods fit.
        Map<String, Object> failing = Pods.container("nvidia", 1, "100m", "256Mi");
        failing.put("command", List.of("sh", "-c", "exit 3"));
        Map<String, Object> onFailure = Pods.pod("uid-onfailure", "on-failure", "seeweb-nvidia-1xa6000", List.of(failing));
        Map<String, Object> never = Pods.pod("uid-never", "never", "seeweb-nvidia-1xa6000", List.of(failing));
        never.put("restartPolicy", "Never");
        Map<String, Object> done = Pods.container("nvidia", 1, "100m", "256Mi");
        done.put("command", List.of("true"));
        Map<String, Object> succeeded = Pods.pod("uid-done", "done", "seeweb-nvidia-1xa6000", List.of(done));
        fx.http.post("/v1/tenants/skg00000/workloads", tenant, onFailure);
        fx.http.post("/v1/tenants/skg00000/workloads", tenant, never);
        fx.http.post("/v1/tenants/skg00000/workloads", tenant, succeeded);
        await().atMost(Duration.ofSeconds(30)).until(() -> workload("uid-onfailure").at("/containers/0/restartCount").asInt() >= 2);
        await().atMost(Duration.ofSeconds(20)).until(() -> workload("uid-never").get("phase").asText().equals("failed"));
        assertThat(workload("uid-never").at("/containers/0/exitCode").asInt()).isEqualTo(3);
        assertThat(workload("uid-never").at("/containers/0/restartCount").asInt()).isZero();
        await().atMost(Duration.ofSeconds(20)).until(() -> workload("uid-done").get("phase").asText().equals("succeeded"));
        assertThat(workload("uid-done").at("/containers/0/reason").asText()).isEqualTo("Completed");
    }

    @Test
    void anImageTheRegistryDoesNotHaveWaitsWithErrImagePullThenBacksOff() {
        // The local registry answers (with the right credentials) that it has no such image:
        // the failure is the image's, never the network's.
        String missing = REGISTRY + "/gpufleet/does-not-exist:1.0";
        Map<String, Object> c = Pods.container("nvidia", 1, "1", "1Gi");
        c.put("image", missing);
        Map<String, Object> pod = Pods.pod("uid-noimage", "noimage", "seeweb-nvidia-1xa6000", List.of(c));
        pod.put("imagePullSecrets", List.of(REGISTRY_SECRET));
        fx.http.post("/v1/tenants/skg00000/workloads", tenant, pod);
        // The status that said ErrImagePull, not a later read: by then the next pull may be under way ("Pulling image …").
        java.util.concurrent.atomic.AtomicReference<JsonNode> seen = new java.util.concurrent.atomic.AtomicReference<>();
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            seen.set(workload("uid-noimage").at("/containers/0"));
            return "ErrImagePull".equals(seen.get().path("reason").asText());
        });
        JsonNode s = seen.get();
        assertThat(s.get("state").asText()).isEqualTo("waiting");
        assertThat(s.get("message").asText()).as("the registry's own answer").contains(missing)
                .containsIgnoringCase("manifest unknown");
        await().atMost(Duration.ofSeconds(60)).until(() -> "ImagePullBackOff".equals(workload("uid-noimage").at("/containers/0/reason").asText()));
    }

    @Test
    void aRestartedAgentAdoptsItsContainersAndAKilledContainerIsRestarted() {
        Map<String, Object> pod = Pods.seedPod("uid-adopt");
        pod.put("restartPolicy", "Always");
        fx.http.post("/v1/tenants/skg00000/workloads", tenant, pod);
        await().atMost(Duration.ofSeconds(20)).until(() -> container("uid-adopt", "nvidia").map(i -> i.getState().getRunning()).orElse(false));
        String id = container("uid-adopt", "nvidia").orElseThrow().getId();
        agent.close();
        agent = startAgent();
        // Three passes against the control-api's list: the new agent has compared and kept what it found.
        await().atMost(Duration.ofSeconds(60)).until(() -> agent.progress().reconcilePasses() >= 3);
        assertThat(container("uid-adopt", "nvidia").orElseThrow().getId()).as("adopted, not recreated").isEqualTo(id);
        assertThat(docker.listContainersCmd().withShowAll(true).withLabelFilter(Map.of("org.gpufleet.pod-uid", "uid-adopt")).exec())
                .as("the app container and its pause container, no duplicates").hasSize(2);

        docker.killContainerCmd(id).exec();
        await().atMost(Duration.ofSeconds(20)).until(() -> workload("uid-adopt").at("/containers/0/restartCount").asInt() == 1
                && workload("uid-adopt").at("/containers/0/state").asText().equals("running"));
    }

    @Test
    void deletingStopsTheContainersAndOnlyThenFreesTheGpu() {
        Map<String, Object> pod = Pods.seedPod("uid-del");
        pod.put("terminationGracePeriodSeconds", 2);
        fx.http.post("/v1/tenants/skg00000/workloads", tenant, pod);
        await().atMost(Duration.ofSeconds(20)).until(() -> workload("uid-del").get("phase").asText().equals("running"));
        Http.Response r = fx.http.delete("/v1/tenants/skg00000/workloads/uid-del", tenant);
        assertThat(r.status()).isEqualTo(202);
        assertThat(fx.http.get("/v1/gpus?host=gpu-run&state=allocated", ApiFixture.OPERATOR).json().get("items"))
                .as("still held while the container stops").hasSize(1);
        await().atMost(Duration.ofSeconds(30)).until(() -> workload("uid-del").get("phase").asText().equals("deleted"));
        assertThat(docker.listContainersCmd().withShowAll(true).withLabelFilter(Map.of("org.gpufleet.pod-uid", "uid-del")).exec()).isEmpty();
        assertThat(fx.http.get("/v1/gpus?host=gpu-run&state=free", ApiFixture.OPERATOR).json().get("items")).hasSize(8);
    }

    @Test
    void configMapAndSecretFilesAreMountedReadOnlyWithTheEnv() {
        Map<String, Object> c = Pods.container("nvidia", 1, "100m", "256Mi");
        c.put("env", List.of(Map.of("name", "GREETING", "value", "hi")));
        c.put("files", List.of(Map.of("path", "/etc/config/app.conf", "mode", 0444,
                "contentBase64", java.util.Base64.getEncoder().encodeToString("hello=world".getBytes()))));
        c.put("command", List.of("sh", "-c", "test \"$(cat /etc/config/app.conf)\" = hello=world || exit 5; "
                + "test \"$GREETING\" = hi || exit 6; touch /etc/config/app.conf 2>/dev/null && exit 7; exit 0"));
        Map<String, Object> pod = Pods.pod("uid-files", "files", "seeweb-nvidia-1xa6000", List.of(c));
        pod.put("restartPolicy", "Never");
        fx.http.post("/v1/tenants/skg00000/workloads", tenant, pod);
        await().atMost(Duration.ofSeconds(20)).until(() -> workload("uid-files").get("phase").asText().matches("succeeded|failed"));
        assertThat(workload("uid-files").at("/containers/0/exitCode").asInt()).as("5: content, 6: env, 7: writable").isZero();
    }

    @Test
    void aHostCutOffFromTheControlApiStopsItsWorkloads() {
        agent.close();
        agent = startAgent(Map.of("GPUFLEET_CUTOFF_AFTER", "3s"));
        Map<String, Object> pod = Pods.seedPod("uid-cut");
        pod.put("terminationGracePeriodSeconds", 1);
        fx.http.post("/v1/tenants/skg00000/workloads", tenant, pod);
        await().atMost(Duration.ofSeconds(20)).until(() -> container("uid-cut", "nvidia").map(i -> i.getState().getRunning()).orElse(false));
        fx.api.close();
        await().atMost(Duration.ofSeconds(20)).until(() -> docker.listContainersCmd().withShowAll(true)
                .withLabelFilter(Map.of("org.gpufleet.pod-uid", "uid-cut")).exec().isEmpty());
    }

    @Test
    void everyContainerOfAPodCarriesItsWorkloadAndItsHostsLabels() {
        // Two pods of one tenant, one after the other: the second starts as quickly, in its own sandbox.
        JsonNode first = workloadRunning("uid-first", Pods.pod("uid-first", "first", "seeweb-nvidia-1xa6000",
                List.of(Pods.container("nvidia", 1, "100m", "256Mi"))));
        JsonNode second = workloadRunning("uid-second", Pods.pod("uid-second", "second", "seeweb-nvidia-1xa6000",
                List.of(Pods.container("nvidia", 1, "100m", "256Mi"))));
        for (JsonNode w : List.of(first, second)) {
            String id = w.get("id").asText();
            List<Container> pod = docker.listContainersCmd().withShowAll(true).withLabelFilter(Map.of(Labels.WORKLOAD, id,
                    Labels.HOST, "gpu-run")).exec();
            assertThat(pod).as("docker ps --filter label=%s=%s", Labels.WORKLOAD, id)
                    .extracting(c -> c.getNames()[0]).containsExactlyInAnyOrder("/gf-" + id + "-pod", "/gf-" + id + "-nvidia-0");
            assertThat(container(w.get("podUid").asText(), "nvidia").orElseThrow().getHostConfig().getNetworkMode())
                    .isEqualTo("container:" + pod.stream().filter(c -> c.getNames()[0].endsWith("-pod")).findFirst().orElseThrow().getId());
        }
        assertThat(docker.listContainersCmd().withShowAll(true).withLabelFilter(Map.of(Labels.MANAGED, "true")).exec())
                .as("nothing started ahead of a pod").hasSize(4);
    }

    @Test
    void aPrivateImageIsPulledWithItsPullSecretAndAWrongOneIsRefused() {
        try {
            docker.removeImageCmd(PRIVATE_IMAGE).withForce(true).exec();
        } catch (com.github.dockerjava.api.exception.NotFoundException e) {
            // Not pulled before: what the test needs.
        }
        Map<String, Object> c = Pods.container("nvidia", 1, "100m", "64Mi");
        c.put("image", PRIVATE_IMAGE);
        Map<String, Object> wrong = Pods.pod("uid-badsecret", "badsecret", "seeweb-nvidia-1xa6000", List.of(c));
        wrong.put("imagePullSecrets", List.of(Map.of("registry", "127.0.0.1:5000", "username", "gpufleet", "password", "wrong")));
        fx.http.post("/v1/tenants/skg00000/workloads", tenant, wrong);
        await().atMost(Duration.ofSeconds(60)).until(() -> "ErrImagePull".equals(workload("uid-badsecret").at("/containers/0/reason").asText()));
        assertThat(workload("uid-badsecret").at("/containers/0/message").asText()).contains(PRIVATE_IMAGE).containsIgnoringCase("auth");

        Map<String, Object> right = Pods.pod("uid-secret", "secret", "seeweb-nvidia-1xa6000", List.of(c));
        right.put("imagePullSecrets", List.of(REGISTRY_SECRET));
        fx.http.post("/v1/tenants/skg00000/workloads", tenant, right);
        await().atMost(Duration.ofSeconds(60)).until(() -> workload("uid-secret").get("phase").asText().equals("running"));
        JsonNode s = workload("uid-secret").at("/containers/0");
        assertThat(s.get("imagePullMillis").isNumber()).as("the pull is timed: %s", s).isTrue();
        assertThat(container("uid-secret", "nvidia").orElseThrow().getConfig().getImage()).isEqualTo(PRIVATE_IMAGE);
        // The image already present on the host: no pull, no pull time.
        JsonNode present = workloadRunning("uid-present", Pods.pod("uid-present", "present", "seeweb-nvidia-1xa6000",
                List.of(Pods.container("nvidia", 1, "100m", "64Mi"))));
        assertThat(present.at("/containers/0/imagePullMillis").isNumber()).as("%s", present).isFalse();
    }

    private JsonNode workloadRunning(String uid, Map<String, Object> pod) {
        fx.http.post("/v1/tenants/skg00000/workloads", tenant, pod);
        try {
            await().atMost(Duration.ofSeconds(60)).until(() -> workload(uid).get("phase").asText().equals("running"));
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError("workload " + uid + " is not running: " + workload(uid), e);
        }
        return workload(uid);
    }
}
