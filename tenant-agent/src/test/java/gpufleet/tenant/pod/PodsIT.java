package gpufleet.tenant.pod;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.control.ControlApi;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Http;
import gpufleet.tenant.agent.TenantAgentConfig;
import gpufleet.tenant.node.NodeController;
import gpufleet.tenant.provider.ProviderClient;
import gpufleet.tenant.provider.ProviderPods;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The seed's pods on the virtual node: mock API server (CRUD), a real control-api on PostgreSQL. */
@EnableKubernetesMockClient(crud = true)
class PodsIT {
    KubernetesClient client;
    ApiFixture fx;
    ApiFixture.Host host;
    String token;
    NodeController node;
    PodController pods;
    ProviderClient provider;

    @BeforeEach
    void start() {
        fx = ApiFixture.start();
        fx.seedOfferings();
        host = fx.seedHost("a6000-pool");
        token = fx.tenant("skg00000", List.of("seeweb-nvidia-1xa6000", "seeweb-nvidia-2xa6000"));
        Map<String, String> env = new HashMap<>();
        env.put("GPUFLEET_CONTROL_API_URL", "http://127.0.0.1:" + fx.api.port());
        env.put("GPUFLEET_TENANT_TOKEN", token);
        env.put("POD_IP", "10.1.2.3");
        TenantAgentConfig config = TenantAgentConfig.fromEnvironment(env);
        provider = new ProviderClient(config.controlApi(), config.tenantToken());
        node = new NodeController(client, provider, config, () -> null);
        pods = new PodController(client, config.nodeName(), config.nodeAddress());
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    private void sync() throws Exception {
        NodeController.Provider p = node.syncOnce();
        pods.syncOnce(new ProviderPods(provider, p.tenant()), p.offerings());
    }

    /** A pod as the scheduler leaves it: bound to k8s.gpu. */
    private Pod pod(String name, String runtimeClass, List<io.fabric8.kubernetes.api.model.Container> containers) {
        return client.pods().inNamespace("default").resource(new PodBuilder()
                .withNewMetadata().withName(name).withNamespace("default").endMetadata()
                .withNewSpec().withNodeName("k8s.gpu").withRuntimeClassName(runtimeClass).withRestartPolicy("OnFailure")
                .withContainers(containers).endSpec().build()).create();
    }

    private static io.fabric8.kubernetes.api.model.Container nvidia(String name, Integer gpus, String cpu, String memory) {
        ContainerBuilder b = new ContainerBuilder().withName(name).withImage("gpufleet/busybox:test")
                .withCommand("/bin/sh", "-c", "--").withArgs("sleep 3600");
        if (gpus != null) {
            b.withNewResources().addToLimits("nvidia.com/gpu", new Quantity(gpus.toString()))
                    .addToLimits("cpu", new Quantity(cpu)).addToLimits("memory", new Quantity(memory)).endResources();
        }
        return b.build();
    }

    private Pod get(String name) {
        return client.pods().inNamespace("default").withName(name).get();
    }

    private JsonNode workload(String uid) {
        return fx.http.get("/v1/tenants/skg00000/workloads/" + uid, token).json();
    }

    private static PodCondition condition(Pod p, String type) {
        return p.getStatus().getConditions().stream().filter(c -> c.getType().equals(type)).findFirst().orElseThrow();
    }

    @Test
    void theSeedPodBecomesAWorkloadAndItsStatusComesBack() throws Exception {
        Pod p = pod("nvidia-smi", "seeweb-nvidia-1xa6000", List.of(nvidia("nvidia", 1, "2", "16Gi")));
        sync();
        JsonNode w = workload(p.getMetadata().getUid());
        assertThat(w.get("phase").asText()).isEqualTo("placed");
        assertThat(w.at("/gpus/nvidia")).hasSize(1);
        Pod pending = get("nvidia-smi");
        assertThat(pending.getStatus().getPhase()).isEqualTo("Pending");
        assertThat(condition(pending, "PodScheduled").getStatus()).isEqualTo("True");
        assertThat(pending.getStatus().getHostIP()).isEqualTo("10.1.2.3");
        sync();
        Map<String, String> alloc = new HashMap<>();
        client.nodes().withName("k8s.gpu").get().getStatus().getAllocatable().forEach((k, v) -> alloc.put(k, v.toString()));
        // The scheduler counts the pod itself (requests 2 / 16Gi / 1 GPU): allocatable stays at capacity,
        // and the seed's 61 / 246789840Ki / 7 / 7 is what it sees free (node.NodeFiguresTest, SchedulerFillIT).
        assertThat(alloc).isEqualTo(Map.of("cpu", "63", "memory", "263567056Ki", "nvidia.com/gpu", "8", "pods", "8"));

        fx.http.put("/v1/hosts/" + host.id() + "/workloads/" + w.get("id").asText() + "/status", host.token(),
                Map.of("generation", 1, "containers", List.of(Map.of("name", "nvidia", "state", "running", "ready", true,
                        "startedAt", "2026-11-28T10:00:00Z", "containerId", "docker://abc"))));
        sync();
        Pod running = get("nvidia-smi");
        assertThat(running.getStatus().getPhase()).isEqualTo("Running");
        assertThat(condition(running, "Ready").getStatus()).isEqualTo("True");
        assertThat(running.getStatus().getContainerStatuses()).singleElement().satisfies(s -> {
            assertThat(s.getState().getRunning().getStartedAt()).isEqualTo("2026-11-28T10:00:00Z");
            assertThat(s.getContainerID()).isEqualTo("docker://abc");
            assertThat(s.getRestartCount()).isZero();
        });
        assertThat(client.v1().events().inNamespace("default").list().getItems())
                .filteredOn(e -> e.getInvolvedObject().getName().equals("nvidia-smi"))
                .extracting(e -> e.getType() + " " + e.getReason())
                .containsExactly("Normal Scheduled", "Normal Pulled", "Normal Created", "Normal Started");

        fx.http.put("/v1/hosts/" + host.id() + "/workloads/" + w.get("id").asText() + "/status", host.token(),
                Map.of("generation", 2, "containers", List.of(Map.of("name", "nvidia", "state", "waiting", "restartCount", 1,
                        "reason", "CrashLoopBackOff", "message", "back-off 10s restarting failed container nvidia"))));
        sync();
        sync();
        assertThat(client.v1().events().inNamespace("default").list().getItems())
                .filteredOn(e -> e.getReason().equals("BackOff")).singleElement()
                .satisfies(e -> assertThat(e.getType()).isEqualTo("Warning"));
    }

    /**
     * Filling the node with pods: eight 1-GPU pods of 7625m cpu leave the seed's 2 cpu. The seed's
     * 360456Ki of memory left cannot be reached within this class's 32861620Ki per pod (eight of
     * them leave 674096Ki); NodeCapacityTest checks the seed's exact figures on the same arithmetic.
     */
    @Test
    void whenEveryGpuIsTakenAllocatableIsWhatIsLeftAndTheNextPodWaits() throws Exception {
        for (int i = 0; i < 8; i++) {
            pod("fill-" + i, "seeweb-nvidia-1xa6000", List.of(nvidia("nvidia", 1, "7625m", "32861620Ki")));
        }
        sync();
        sync();
        Map<String, String> alloc = new HashMap<>();
        client.nodes().withName("k8s.gpu").get().getStatus().getAllocatable().forEach((k, v) -> alloc.put(k, v.toString()));
        // All eight are the node's pods, counted by the scheduler: allocatable stays at capacity and
        // the scheduler sees 2 cpu, 674096Ki, 0 GPUs and 0 pods free.
        assertThat(alloc).isEqualTo(Map.of("cpu", "63", "memory", "263567056Ki", "nvidia.com/gpu", "8", "pods", "8"));
        Pod extra = pod("one-too-many", "seeweb-nvidia-1xa6000", List.of(nvidia("nvidia", 1, "1", "1Gi")));
        sync();
        Pod waiting = get("one-too-many");
        assertThat(waiting.getStatus().getPhase()).isEqualTo("Pending");
        assertThat(workload(extra.getMetadata().getUid()).get("message").asText())
                .startsWith("no ready host has 1 free NVIDIA RTX A6000");
    }

    @Test
    void aPodWithoutResourcesGetsTheRuntimeClassDefaults() throws Exception {
        Pod p = pod("defaults", "seeweb-nvidia-1xa6000", List.of(nvidia("nvidia", null, null, null)));
        sync();
        JsonNode w = workload(p.getMetadata().getUid());
        assertThat(w.get("phase").asText()).isEqualTo("placed");
        assertThat(w.at("/gpus/nvidia")).hasSize(1);
        Map<String, String> alloc = new HashMap<>();
        sync();
        client.nodes().withName("k8s.gpu").get().getStatus().getAllocatable().forEach((k, v) -> alloc.put(k, v.toString()));
        // The provider holds the class's 1 GPU, 8 cpu and 32861620Ki; the scheduler counts this pod as one
        // pod with no requests, so only the pod count is added back: 7 pods and 7 GPUs free either way.
        assertThat(alloc).isEqualTo(Map.of("cpu", "55", "memory", "230705436Ki", "nvidia.com/gpu", "7", "pods", "8"));
    }

    @Test
    void twoGpusAndSixtyFourGiOnTheOneGpuClassStayPendingWithTheNumbers() throws Exception {
        Pod p = pod("nvidia-smi-unschedulable", "seeweb-nvidia-1xa6000", List.of(nvidia("nvidia", 2, "1", "64Gi")));
        sync();
        Pod pending = get("nvidia-smi-unschedulable");
        assertThat(pending.getStatus().getPhase()).isEqualTo("Pending");
        PodCondition c = condition(pending, "PodScheduled");
        assertThat(c.getReason()).isEqualTo("OverRuntimeClassLimits");
        assertThat(c.getMessage()).isEqualTo("pod asks for 2 GPU(s), 1 cpu and 64Gi memory; RuntimeClass seeweb-nvidia-1xa6000"
                + " allows 1 to 1 GPU(s), at most 8000m cpu and 32861620Ki memory");
        assertThat(fx.http.get("/v1/tenants/skg00000/workloads/" + p.getMetadata().getUid(), token).status()).isEqualTo(404);
        assertThat(client.v1().events().inNamespace("default").list().getItems())
                .anySatisfy(e -> {
                    assertThat(e.getType()).isEqualTo("Warning");
                    assertThat(e.getReason()).isEqualTo("OverRuntimeClassLimits");
                    assertThat(e.getInvolvedObject().getName()).isEqualTo("nvidia-smi-unschedulable");
                });
    }

    @Test
    void theTwoContainerPodOnTheTwoGpuClassGetsOneGpuEach() throws Exception {
        Pod p = pod("nvidia-smi-double", "seeweb-nvidia-2xa6000",
                List.of(nvidia("nvidia-one", 1, "1", "16Gi"), nvidia("nvidia-two", 1, "1", "16Gi")));
        sync();
        JsonNode w = workload(p.getMetadata().getUid());
        assertThat(w.get("phase").asText()).isEqualTo("placed");
        assertThat(w.at("/gpus/nvidia-one/0").asText()).isNotEqualTo(w.at("/gpus/nvidia-two/0").asText());
    }

    @Test
    void aPrivilegedPodOrAHostPathNeverRuns() throws Exception {
        var privileged = new ContainerBuilder(nvidia("nvidia", 1, "1", "1Gi")).withNewSecurityContext().withPrivileged(true)
                .endSecurityContext().build();
        Pod p = pod("root", "seeweb-nvidia-1xa6000", List.of(privileged));
        Pod hp = client.pods().inNamespace("default").resource(new PodBuilder().withNewMetadata().withName("hostpath")
                .withNamespace("default").endMetadata().withNewSpec().withNodeName("k8s.gpu")
                .withRuntimeClassName("seeweb-nvidia-1xa6000").withContainers(nvidia("nvidia", 1, "1", "1Gi"))
                .addNewVolume().withName("etc").withNewHostPath().withPath("/etc").endHostPath().endVolume().endSpec().build()).create();
        sync();
        assertThat(condition(get("root"), "PodScheduled").getMessage())
                .isEqualTo("violates PodSecurity \"baseline\": privileged (container \"nvidia\" must not set securityContext.privileged=true)");
        assertThat(condition(get("hostpath"), "PodScheduled").getMessage()).contains("hostPath volumes (volume \"etc\"");
        assertThat(fx.http.get("/v1/tenants/skg00000/workloads", token).json().get("items")).isEmpty();
        assertThat(p.getMetadata().getUid()).isNotEqualTo(hp.getMetadata().getUid());
    }

    @Test
    void configMapEnvAndSecretFilesTravelWithThePodAndAMissingOneMakesItWait() throws Exception {
        var c = new ContainerBuilder(nvidia("nvidia", 1, "1", "1Gi"))
                .addNewEnv().withName("MODE").withNewValueFrom().withNewConfigMapKeyRef().withName("app").withKey("mode")
                .endConfigMapKeyRef().endValueFrom().endEnv()
                .addNewEnv().withName("POD_NAME").withNewValueFrom().withNewFieldRef().withFieldPath("metadata.name")
                .endFieldRef().endValueFrom().endEnv()
                .addNewVolumeMount().withName("creds").withMountPath("/etc/creds").withReadOnly(true).endVolumeMount()
                .build();
        Pod p = client.pods().inNamespace("default").resource(new PodBuilder().withNewMetadata().withName("configured")
                .withNamespace("default").endMetadata().withNewSpec().withNodeName("k8s.gpu")
                .withRuntimeClassName("seeweb-nvidia-1xa6000").withContainers(c)
                .addNewVolume().withName("creds").withNewSecret().withSecretName("db").withDefaultMode(0400).endSecret().endVolume()
                .endSpec().build()).create();
        sync();
        assertThat(condition(get("configured"), "PodScheduled").getReason()).isEqualTo("CreateContainerConfigError");
        assertThat(condition(get("configured"), "PodScheduled").getMessage()).isEqualTo("configmap \"app\" not found");

        client.configMaps().inNamespace("default").resource(new io.fabric8.kubernetes.api.model.ConfigMapBuilder()
                .withNewMetadata().withName("app").endMetadata().addToData("mode", "fast").build()).create();
        client.secrets().inNamespace("default").resource(new io.fabric8.kubernetes.api.model.SecretBuilder()
                .withNewMetadata().withName("db").endMetadata()
                .addToData("password", java.util.Base64.getEncoder().encodeToString("s3cret".getBytes())).build()).create();
        sync();
        JsonNode desired = fx.http.get("/v1/hosts/" + host.id() + "/workloads", host.token()).json().at("/workloads/0/spec/containers/0");
        assertThat(desired.get("env").toString()).contains("{\"name\":\"MODE\",\"value\":\"fast\"}")
                .contains("{\"name\":\"POD_NAME\",\"value\":\"configured\"}");
        // The volume travels as its directory (path = the mount, so it follows the Secret) and one entry per key.
        JsonNode file = null;
        for (JsonNode f : desired.get("files")) {
            assertThat(f.get("volume").asText()).as("%s", f).isEqualTo("/etc/creds");
            if (f.get("path").asText().equals("/etc/creds/password")) {
                file = f;
            }
        }
        assertThat(file).as("the key's file among %s", desired.get("files")).isNotNull();
        assertThat(file.get("mode").asInt()).isEqualTo(0400);
        assertThat(new String(java.util.Base64.getDecoder().decode(file.get("contentBase64").asText()))).isEqualTo("s3cret");
        assertThat(workload(p.getMetadata().getUid()).get("phase").asText()).isEqualTo("placed");
    }

    @Test
    void aRestartedAgentResyncsWithoutDuplicates() throws Exception {
        Pod p = pod("survivor", "seeweb-nvidia-1xa6000", List.of(nvidia("nvidia", 1, "1", "1Gi")));
        sync();
        String id = workload(p.getMetadata().getUid()).get("id").asText();
        // A new agent process: fresh controllers, nothing remembered but what the cluster and the provider hold.
        agentReaching(fx.api.port());
        sync();
        sync();
        assertThat(fx.http.get("/v1/tenants/skg00000/workloads", token).json().get("items")).singleElement()
                .satisfies(w -> assertThat(w.get("id").asText()).isEqualTo(id));
    }

    @Test
    void whileTheProviderIsAwayPodsAreLeftAloneAndResyncWhenItReturns() throws Exception {
        try (TcpRelay provider = new TcpRelay(fx.api.port())) {
            agentReaching(provider.port());
            Pod p = pod("patient", "seeweb-nvidia-1xa6000", List.of(nvidia("nvidia", 1, "1", "1Gi")));
            sync();
            JsonNode w = workload(p.getMetadata().getUid());
            fx.api.close();
            provider.target(0);
            assertThat(node.syncOnce()).as("provider away: no pod sync this round").isNull();
            assertThat(get("patient").getStatus().getPhase()).isEqualTo("Pending");
            // It comes back on the same database (on another port, behind the same address).
            try (ControlApi again = fx.startReplica(Map.of())) {
                provider.target(again.port());
                assertThat(new Http(again.port()).put("/v1/hosts/" + host.id() + "/workloads/" + w.get("id").asText() + "/status",
                        host.token(), Map.of("generation", 1, "containers", List.of(Map.of("name", "nvidia", "state", "running",
                                "ready", true)))).status()).isEqualTo(200);
                sync();
                assertThat(get("patient").getStatus().getPhase()).isEqualTo("Running");
                assertThat(client.nodes().withName("k8s.gpu").get().getStatus().getConditions().stream()
                        .filter(c -> c.getType().equals("ProviderReachable")).findFirst().orElseThrow().getStatus()).isEqualTo("True");
            }
        }
    }

    /** Fresh controllers, as a new agent process has, whose provider is the control-api at {@code port}. */
    private void agentReaching(int port) {
        TenantAgentConfig config = TenantAgentConfig.fromEnvironment(Map.of("GPUFLEET_CONTROL_API_URL", "http://127.0.0.1:" + port,
                "GPUFLEET_TENANT_TOKEN", token));
        provider = new ProviderClient(config.controlApi(), config.tenantToken());
        node = new NodeController(client, provider, config, () -> null);
        pods = new PodController(client, config.nodeName(), config.nodeAddress());
    }

    @Test
    void aPodBeingDeletedIsStoppedAtTheProviderWithAKillingEvent() throws Exception {
        Pod p = client.pods().inNamespace("default").resource(new PodBuilder().withNewMetadata().withName("finishing")
                .withNamespace("default").withFinalizers("example.com/hold").endMetadata().withNewSpec().withNodeName("k8s.gpu")
                .withRuntimeClassName("seeweb-nvidia-1xa6000").withContainers(nvidia("nvidia", 1, "1", "1Gi")).endSpec().build()).create();
        sync();
        client.pods().inNamespace("default").withName("finishing").delete();
        assertThat(get("finishing").getMetadata().getDeletionTimestamp()).as("held by its finalizer, as a graceful delete").isNotNull();
        sync();
        assertThat(workload(p.getMetadata().getUid()).get("deletionRequested").asBoolean()).isTrue();
        assertThat(client.v1().events().inNamespace("default").list().getItems())
                .anySatisfy(e -> assertThat(e.getReason()).isEqualTo("Killing"));
    }

    @Test
    void aPodThatIsGoneHasItsWorkloadDeleted() throws Exception {
        Pod p = pod("short-lived", "seeweb-nvidia-1xa6000", List.of(nvidia("nvidia", 1, "1", "1Gi")));
        sync();
        assertThat(workload(p.getMetadata().getUid()).get("phase").asText()).isEqualTo("placed");
        client.pods().inNamespace("default").withName("short-lived").delete();
        sync();
        assertThat(workload(p.getMetadata().getUid()).get("deletionRequested").asBoolean()).isTrue();
    }

    @Test
    void podsOverTheTenantsQuotaWaitWithTheReasonAndThePassGoesOn() throws Exception {
        assertThat(fx.http.put("/v1/tenants/skg00000/limits", ApiFixture.OPERATOR, Map.of("maxWorkloads", 1)).status()).isEqualTo(200);
        for (String name : List.of("quota-a", "quota-b", "quota-c")) {
            pod(name, "seeweb-nvidia-1xa6000", List.of(nvidia("nvidia", 1, "1", "1Gi")));
        }
        sync();
        assertThat(fx.http.get("/v1/tenants/skg00000/workloads", token).json().get("items")).as("one within the quota").hasSize(1);
        assertThat(client.v1().events().inNamespace("default").list().getItems())
                .filteredOn(e -> "ExceededQuota".equals(e.getReason())).as("the other two say why they wait").hasSize(2)
                .allSatisfy(e -> assertThat(e.getMessage()).startsWith("exceeded quota: workloads"));
        assertThat(fx.http.put("/v1/tenants/skg00000/limits", ApiFixture.OPERATOR, Map.of("maxWorkloads", 3)).status()).isEqualTo(200);
        sync();
        assertThat(fx.http.get("/v1/tenants/skg00000/workloads", token).json().get("items")).as("all three once the quota allows").hasSize(3);
    }
}
