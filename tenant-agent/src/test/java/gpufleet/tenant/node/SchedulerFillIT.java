package gpufleet.tenant.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Pods;
import gpufleet.tenant.agent.TenantAgentConfig;
import gpufleet.tenant.e2e.StreamFleet;
import gpufleet.tenant.kubelet.KubeletBackend;
import gpufleet.tenant.kubelet.relay.ControlApiBackend;
import gpufleet.tenant.pod.PodController;
import gpufleet.tenant.provider.ProviderClient;
import gpufleet.tenant.provider.ProviderPods;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The kube-scheduler's fit rule ({@link SchedulerFit}) applied to the node the tenant-agent
 * writes and the pods bound to it, against fabric8's mock API server, a real control-api, a real
 * host-agent on the simulated NVML (8 GPUs) and Docker: every pod the rule admits is placed by
 * the provider, and the rule stops where the provider's room ends, not before.
 */
@EnableKubernetesMockClient(crud = true)
class SchedulerFillIT {
    /** Generous: a loaded 2-core machine starts containers slowly. */
    static final Duration WAIT = Duration.ofSeconds(120);
    KubernetesClient client;
    StreamFleet fleet;
    NodeController node;
    PodController pods;
    ProviderClient provider;

    @BeforeEach
    void start() throws Exception {
        fleet = StreamFleet.start();
        TenantAgentConfig tc = TenantAgentConfig.fromEnvironment(Map.of(
                "GPUFLEET_CONTROL_API_URL", fleet.controlApi().toString(), "GPUFLEET_TENANT_TOKEN", fleet.token));
        provider = new ProviderClient(tc.controlApi(), tc.tenantToken());
        node = new NodeController(client, provider, tc, () -> null);
        pods = new PodController(client, tc.nodeName(), tc.nodeAddress());
    }

    @AfterEach
    void stop() throws Exception {
        fleet.close();
    }

    /** One round of the tenant-agent: node figures, then pods. */
    private void sync() throws Exception {
        NodeController.Provider p = node.syncOnce();
        pods.syncOnce(new ProviderPods(provider, p.tenant()), p.offerings());
    }

    private Node virtualNode() {
        return client.nodes().withName("k8s.gpu").get();
    }

    private long capacityMillis() throws Exception {
        sync();
        return Quantity.getAmountInBytes(virtualNode().getStatus().getCapacity().get("cpu")).movePointRight(3).longValueExact();
    }

    private static Pod pod(String name, String restartPolicy, String cpuRequest, String cpuLimit, String... command) {
        return new PodBuilder().withNewMetadata().withName(name).withNamespace("default").endMetadata().withNewSpec()
                .withNodeName("k8s.gpu").withRuntimeClassName(StreamFleet.OFFERING).withRestartPolicy(restartPolicy)
                .withTerminationGracePeriodSeconds(1L)
                .addNewContainer().withName("main").withImage("gpufleet/busybox:test")
                .withCommand(command.length == 0 ? List.of("sleep", "3600") : List.of(command))
                .withNewResources()
                .withRequests(Map.of("cpu", new Quantity(cpuRequest), "memory", new Quantity("32Mi"), "nvidia.com/gpu", new Quantity("1")))
                .withLimits(Map.of("cpu", new Quantity(cpuLimit), "memory", new Quantity("64Mi"), "nvidia.com/gpu", new Quantity("1")))
                .endResources().endContainer().endSpec().build();
    }

    /** How many pods the rule admitted (each bound, then placed) and its reasons for the first it refused. */
    record Fill(int admitted, List<String> refusal) {}

    /** Offers pods to the scheduler's rule one at a time, binding each one it admits, until it refuses one. */
    private Fill fill(IntFunction<Pod> next) throws Exception {
        for (int i = 0; ; i++) {
            Pod p = next.apply(i);
            sync();
            List<String> refusal = SchedulerFit.refusals(p, virtualNode(), client.pods().inAnyNamespace().list().getItems());
            if (!refusal.isEmpty() || i > 16) {
                return new Fill(i, refusal);
            }
            client.pods().inNamespace("default").resource(p).create();
            awaitPlaced(p.getMetadata().getName());
        }
    }

    /** The provider placed the pod; one it answers with a reason for not placing fails the test at once. */
    private JsonNode awaitPlaced(String name) {
        JsonNode[] placed = new JsonNode[1];
        await("pod " + name + " placed by the provider").atMost(WAIT).pollInterval(Duration.ofMillis(300)).until(() -> {
            sync();
            JsonNode w = workload(name);
            if (w != null && w.path("phase").asText().equals("pending") && !w.path("reason").isMissingNode()
                    && !w.path("reason").isNull()) {
                fail("pod " + name + " was admitted by the scheduler's rule and left pending by the provider: "
                        + w.path("message").asText() + "; node allocatable " + virtualNode().getStatus().getAllocatable());
            }
            placed[0] = w;
            return w != null && List.of("placed", "running").contains(w.path("phase").asText());
        });
        return placed[0];
    }

    private JsonNode workload(String name) {
        Pod p = client.pods().inNamespace("default").withName(name).get();
        if (p == null) {
            return null;
        }
        var r = fleet.fx.http.get("/v1/tenants/" + StreamFleet.TENANT + "/workloads/" + p.getMetadata().getUid(), fleet.token);
        return r.status() == 200 ? r.json() : null;
    }

    private String phase(String name) throws Exception {
        sync();
        Pod p = client.pods().inNamespace("default").withName(name).get();
        return p == null || p.getStatus() == null ? "" : String.valueOf(p.getStatus().getPhase());
    }

    @Test
    void theSchedulersRuleFillsThePoolToTheLastGpuAndEveryAdmittedPodIsPlaced() throws Exception {
        String cpu = capacityMillis() / 8 + "m";
        Fill f = fill(i -> pod("fill-" + i, "Always", cpu, cpu));
        assertThat(f.admitted()).as("pods admitted by the scheduler's rule before it refused one for %s", f.refusal()).isEqualTo(8);
        assertThat(f.refusal()).contains("Insufficient nvidia.com/gpu");
        assertThat(fleet.fx.http.get("/v1/hosts/streams-gpu", ApiFixture.OPERATOR).json().at("/host/gpus/free").asInt())
                .as("every GPU of the pool holds a pod").isZero();
    }

    @Test
    void requestsBelowLimitsFillToTheLastGpuAndTheRuleStopsWhereTheProvidersCpuEnds() throws Exception {
        long cap = capacityMillis();
        long small = cap / 8;
        Fill full = fill(i -> pod("half-" + i, "Always", small / 2 + "m", small + "m"));
        assertThat(full.admitted()).as("requests at half the limits: refused for %s", full.refusal()).isEqualTo(8);
        assertThat(full.refusal()).contains("Insufficient nvidia.com/gpu");

        for (int i = 0; i < 4; i++) {
            String uid = client.pods().inNamespace("default").withName("half-" + i).get().getMetadata().getUid();
            client.pods().inNamespace("default").withName("half-" + i).delete();
            await("half-" + i + " deleted at the provider").atMost(WAIT).pollInterval(Duration.ofMillis(300)).until(() -> {
                sync();
                return fleet.fx.http.get("/v1/tenants/" + StreamFleet.TENANT + "/workloads/" + uid, fleet.token)
                        .json().path("phase").asText().equals("deleted");
            });
        }
        // Limits of a quarter of the pool's cpu, requests of a fifth of that: the provider holds the
        // limits, so two fit in the half that is free, and the rule must refuse the third for cpu
        // although two GPUs are idle (counting requests alone, it would admit it to wait pending).
        long big = cap / 4;
        Fill wide = fill(i -> pod("wide-" + i, "Always", big / 5 + "m", big + "m"));
        assertThat(wide.admitted()).as("refused for %s", wide.refusal()).isEqualTo(2);
        assertThat(wide.refusal()).containsExactly("Insufficient cpu");
    }

    @Test
    void aFinishedJobFreesTheOnlyGpuForTheNextPodWhileItsLogsStayReadable() throws Exception {
        fleet.fx.offering("seven-a6000", "NVIDIA RTX A6000", 7, "1", "1Gi");
        String other = fleet.fx.tenant("other", List.of("seven-a6000"));
        assertThat(fleet.fx.http.post("/v1/tenants/other/workloads", other, Pods.pod("holds-seven", "big", "seven-a6000",
                List.of(Pods.container("main", 7, "100m", "64Mi")))).json().path("phase").asText()).isEqualTo("placed");

        Pod job = pod("job", "Never", "100m", "100m", "sh", "-c", "echo job finished");
        sync();
        assertThat(SchedulerFit.refusals(job, virtualNode(), client.pods().inAnyNamespace().list().getItems())).isEmpty();
        client.pods().inNamespace("default").resource(job).create();
        String gpu = awaitPlaced("job").at("/gpus/main/0").asText();
        String jobUid = client.pods().inNamespace("default").withName("job").get().getMetadata().getUid();
        await("the job succeeds").atMost(WAIT).pollInterval(Duration.ofMillis(300)).until(() -> phase("job").equals("Succeeded"));

        Pod next = pod("next", "Always", "100m", "100m");
        sync();
        assertThat(SchedulerFit.refusals(next, virtualNode(), client.pods().inAnyNamespace().list().getItems()))
                .as("the scheduler's rule on the node after the job finished").isEmpty();
        client.pods().inNamespace("default").resource(next).create();
        assertThat(awaitPlaced("next").at("/gpus/main/0").asText()).as("the job's GPU").isEqualTo(gpu);

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new ControlApiBackend(fleet.controlApi(), fleet.token, StreamFleet.TENANT).logs(
                new KubeletBackend.PodRef("default", "job", jobUid), "main",
                new KubeletBackend.LogOptions(false, null, null, null, false, false, null), out);
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("job finished\n");
    }
}
