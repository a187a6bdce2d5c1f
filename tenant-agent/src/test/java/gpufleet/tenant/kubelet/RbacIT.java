package gpufleet.tenant.kubelet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gpufleet.control.support.ApiFixture;
import gpufleet.tenant.ApiCall;
import gpufleet.tenant.Install;
import gpufleet.tenant.agent.TenantAgent;
import gpufleet.tenant.agent.TenantAgentConfig;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The install's RBAC against what the agent really asks of the API server. The whole agent runs
 * against fabric8's mock API server, which records every request, through its flows: its node,
 * lease, RuntimeClasses and cluster id; a pod with a ConfigMap and a Secret placed at a real
 * control-api; a refused pod deleted; a LoadBalancer Service; its kubelet API's serving
 * certificate and a caller it authenticates and authorizes. Each request must be allowed by the
 * rendered ClusterRoles bound to the agent's service account, and each rule must be used by some
 * request (least privilege): removing a rule or adding one fails here.
 */
@EnableKubernetesMockClient(crud = true, https = false)
class RbacIT {
    /**
     * Rules for requests only a real host's containers cause, which this scenario (a seeded host,
     * no containers) cannot: an Event counted up (a container restarting, a probe failing again).
     */
    static final Set<String> NEEDS_A_HOST = Set.of("patch events");
    /** The agent's own requests carry this User-Agent; the test's (as a tenant, an approver) do not. */
    static final String AGENT = "gpufleet-tenant-agent-under-test";
    KubernetesMockServer server;
    KubernetesClient client;
    @TempDir
    Path tmp;

    @Test
    void theProductionInstallAllowsExactlyWhatTheAgentDoesWithTheClustersApprover() throws Exception {
        Set<ApiCall> calls = runTheAgent(false);
        assertThat(calls).as("the agent never approves its own request by default")
                .noneMatch(c -> c.resource().equals("certificatesigningrequests/approval"));
        assertExactly(Install.render("overlays/production").agentRules(), calls);
    }

    @Test
    void theSelfApproveOverlayAddsExactlyTheApproval() throws Exception {
        Set<ApiCall> calls = runTheAgent(true);
        assertThat(calls).anyMatch(c -> c.resource().equals("certificatesigningrequests/approval") && c.verb().equals("update"));
        // Approving also needs "approve" on the signer, which the API server checks on the approval itself.
        calls.add(new ApiCall("approve", "certificates.k8s.io", "signers", "kubernetes.io/kubelet-serving", null));
        assertExactly(Install.render("overlays/self-approve").agentRules(), calls);
    }

    private static void assertExactly(List<PolicyRule> rules, Set<ApiCall> calls) {
        assertThat(calls.stream().filter(c -> rules.stream().noneMatch(c::allowedBy)).toList())
                .as("requests of the agent that the install's RBAC forbids").isEmpty();
        List<String> unused = new ArrayList<>();
        for (PolicyRule r : rules) {
            for (String group : r.getApiGroups()) {
                for (String resource : r.getResources()) {
                    for (String verb : r.getVerbs()) {
                        boolean used = calls.stream().anyMatch(c -> c.verb().equals(verb) && c.group().equals(group)
                                && c.resource().equals(resource) && c.allowedBy(r));
                        if (!used && !NEEDS_A_HOST.contains(verb + " " + resource)) {
                            unused.add(verb + " " + (group.isEmpty() ? "" : group + "/") + resource);
                        }
                    }
                }
            }
        }
        assertThat(unused).as("rules no request of the agent used (grant only what it does)").isEmpty();
    }

    /** Runs the agent through its flows; returns its requests, as RBAC sees them. */
    private Set<ApiCall> runTheAgent(boolean selfApprove) throws Exception {
        TestPki pki = new TestPki();
        MockSigner signer = new MockSigner(server, pki);
        if (selfApprove) {
            signer.approvedByTheAgent(server);
        }
        answerReviews();
        Path ca = Files.writeString(tmp.resolve("ca.crt"), Pem.of(pki.ca()));
        int kubeletPort = freePort();
        try (ApiFixture fx = ApiFixture.start(Map.of("GPUFLEET_EDGE_DOMAIN", "cloud.provider.tld"));
             KubernetesClient agentClient = new KubernetesClientBuilder().withConfig(new ConfigBuilder(Config.empty())
                     .withMasterUrl(client.getMasterUrl().toString()).withUserAgent(AGENT).withNamespace("default").build()).build()) {
            fx.seedOfferings();
            fx.seedHost("rbac-pool");
            String token = fx.tenant("skg00007", List.of("seeweb-nvidia-1xa6000", "seeweb-nvidia-2xa6000"));
            Map<String, String> env = new HashMap<>(Map.of("GPUFLEET_CONTROL_API_URL", "http://127.0.0.1:" + fx.api.port(),
                    "GPUFLEET_TENANT_TOKEN", token, "GPUFLEET_KUBELET_PORT", Integer.toString(kubeletPort),
                    "GPUFLEET_SYNC_INTERVAL", "1s", "POD_IP", "127.0.0.1"));
            KubeletConfig kubelet = new KubeletConfig(KubeletConfig.Tls.CSR, ca, "127.0.0.1", Duration.ofMillis(50), selfApprove);
            client.namespaces().resource(new NamespaceBuilder().withNewMetadata()
                    .withName("kube-system").endMetadata().build()).create();
            try (TenantAgent agent = new TenantAgent(TenantAgentConfig.fromEnvironment(env), agentClient, kubelet)) {
                // An approver, as the cluster's would: once the request exists (the agent asked itself, or waits).
                await().atMost(Duration.ofSeconds(60)).until(() -> signer.csr != null);
                signer.verdict = "Approved";
                tenantsWork();
                callTheKubeletApi(pki, kubeletPort);
                Set<ApiCall> calls = new LinkedHashSet<>();
                // The flows' last steps, each seen before the record is taken as whole.
                List<String> last = List.of("update services/status", "delete pods", "delete runtimeclasses", "patch nodes");
                await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
                    drain(calls);
                    assertThat(last).as("requests of the agent so far: %s", calls).allMatch(step -> calls.stream()
                            .anyMatch(c -> (c.verb() + " " + c.resource()).equals(step)));
                });
                drain(calls);
                return calls;
            }
        }
    }

    /**
     * What a tenant does: a pod with its ConfigMap and Secret, a pod that is refused and deleted
     * (held by a finalizer), a LoadBalancer Service; and what drifts:
     * someone takes the node's label away, and changes one of the agent's RuntimeClasses.
     */
    private void tenantsWork() {
        await().atMost(Duration.ofSeconds(60)).until(() -> client.nodes().withName("k8s.gpu").get() != null
                && client.runtimeClasses().withName("seeweb-nvidia-1xa6000").get() != null);
        client.nodes().withName("k8s.gpu").edit(n -> {
            n.getMetadata().getLabels().remove("type");
            return n;
        });
        client.runtimeClasses().withName("seeweb-nvidia-2xa6000").edit(rc -> {
            rc.setHandler("runc");
            return rc;
        });
        client.configMaps().inNamespace("default").resource(new ConfigMapBuilder().withNewMetadata().withName("settings").endMetadata()
                .addToData("MODE", "fast").build()).create();
        client.secrets().inNamespace("default").resource(new SecretBuilder().withNewMetadata().withName("keys").endMetadata()
                .addToStringData("api.key", "s3cret").build()).create();
        client.pods().inNamespace("default").resource(new PodBuilder().withNewMetadata().withName("inference")
                .addToLabels("run", "inference").endMetadata().withNewSpec().withNodeName("k8s.gpu")
                .withRuntimeClassName("seeweb-nvidia-1xa6000").addNewContainer().withName("model").withImage("gpufleet/busybox:test")
                .addNewEnv().withName("MODE").withNewValueFrom().withNewConfigMapKeyRef("MODE", "settings", false).endValueFrom().endEnv()
                .addNewPort().withName("http").withContainerPort(8080).endPort()
                .addNewVolumeMount().withName("keys").withMountPath("/keys").endVolumeMount()
                .withNewResources().addToLimits("nvidia.com/gpu", new Quantity("1")).endResources().endContainer()
                .addNewVolume().withName("keys").withNewSecret().withSecretName("keys").endSecret().endVolume().endSpec().build()).create();
        client.pods().inNamespace("default").resource(new PodBuilder().withNewMetadata().withName("privileged")
                .withFinalizers("example.com/hold").endMetadata().withNewSpec().withNodeName("k8s.gpu")
                .withRuntimeClassName("seeweb-nvidia-1xa6000").addNewContainer().withName("root").withImage("gpufleet/busybox:test")
                .withNewSecurityContext().withPrivileged(true).endSecurityContext().endContainer().endSpec().build()).create();
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            var p = client.pods().inNamespace("default").withName("privileged").get();
            return p.getStatus() != null && p.getStatus().getPhase() != null;
        });
        client.pods().inNamespace("default").withName("privileged").delete();
        client.services().inNamespace("default").resource(new ServiceBuilder().withNewMetadata().withName("web").endMetadata()
                .withNewSpec().withType("LoadBalancer").withLoadBalancerClass("k8s.gpu").withSelector(Map.of("run", "inference"))
                .addNewPort().withName("http").withPort(80).withProtocol("TCP")
                .withTargetPort(new IntOrString(8080)).endPort().endSpec().build()).create();
    }

    /** The API server's TokenReview (t0k-alice is alice) and SubjectAccessReview (alice may) for the kubelet API's callers. */
    private void answerReviews() {
        server.expect().post().withPath("/apis/authentication.k8s.io/v1/tokenreviews").andReturn(201, Map.of(
                "apiVersion", "authentication.k8s.io/v1", "kind", "TokenReview", "status", Map.of("authenticated", true,
                        "user", Map.of("username", "alice", "uid", "uid-alice", "groups", List.of("system:authenticated"))))).always();
        server.expect().post().withPath("/apis/authorization.k8s.io/v1/subjectaccessreviews").andReturn(201, Map.of(
                "apiVersion", "authorization.k8s.io/v1", "kind", "SubjectAccessReview", "status", Map.of("allowed", true))).always();
    }

    /** A caller of the node's kubelet API with a bearer token: the agent asks the API server who it is and whether it may. */
    private static void callTheKubeletApi(TestPki pki, int port) throws Exception {
        HttpClient http = HttpClient.newBuilder().sslContext(pki.anonymous()).build();
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> http.send(HttpRequest.newBuilder(
                        URI.create("https://127.0.0.1:" + port + "/pods")).header("Authorization", "Bearer t0k-alice").build(),
                HttpResponse.BodyHandlers.ofString()).statusCode() == 200);
        // One pod by name (its logs): whatever the provider answers, the agent looked the pod up.
        http.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + "/containerLogs/default/inference/model"))
                .header("Authorization", "Bearer t0k-alice").build(), HttpResponse.BodyHandlers.ofString());
    }

    private void drain(Set<ApiCall> calls) throws InterruptedException {
        for (RecordedRequest r = server.takeRequest(10, TimeUnit.MILLISECONDS); r != null; r = server.takeRequest(10, TimeUnit.MILLISECONDS)) {
            String agent = r.getHeader("User-Agent");
            if (agent != null && agent.startsWith(AGENT)) {
                calls.add(ApiCall.of(r.getMethod(), r.getPath()));
            }
        }
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
