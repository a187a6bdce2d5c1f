package gpufleet.faults;

import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A tenant's cluster: fabric8's mock API server (CRUD mode) and the real tenant-agent as its own
 * process against it over HTTP, for one tenant of the fleet. Pods are made as a tenant makes
 * them, bound to the agent's virtual node.
 */
final class TenantCluster implements AutoCloseable {
    static final String NODE = "k8s.gpu";
    final KubernetesClient client;
    final String tenant;
    private final Map<String, String> agentEnv;
    Proc agent;

    /** {@code via}: the replica the agent talks to. */
    TenantCluster(FaultFleet fleet, KubernetesClient client, String tenant, String token, int via) throws IOException {
        this.client = client;
        this.tenant = tenant;
        Path kubeconfig = fleet.dir.resolve("kubeconfig-" + tenant);
        Files.writeString(kubeconfig, """
                apiVersion: v1
                kind: Config
                clusters: [{name: mock, cluster: {server: "%s"}}]
                users: [{name: agent, user: {token: mock}}]
                contexts: [{name: mock, context: {cluster: mock, user: agent, namespace: default}}]
                current-context: mock
                """.formatted(client.getMasterUrl()));
        agentEnv = new HashMap<>(Map.of("KUBECONFIG", kubeconfig.toString(),
                "GPUFLEET_CONTROL_API_URL", "http://127.0.0.1:" + fleet.replicas.get(via).port(),
                "GPUFLEET_TENANT_TOKEN", token, "GPUFLEET_KUBELET_TLS", "off",
                "GPUFLEET_KUBELET_PORT", Integer.toString(Ports.free()), "GPUFLEET_KUBELET_BIND_ADDRESS", "127.0.0.1",
                "GPUFLEET_SYNC_INTERVAL", "1s", "GPUFLEET_STATUS_REFRESH", "2s"));
        start();
        await().atMost(Duration.ofSeconds(90)).until(() -> client.nodes().withName(NODE).get() != null);
    }

    /** Starts the agent (again: it finds its node and pods where it left them). */
    void start() {
        agent = new Proc("tenant-agent-" + tenant, Proc.jar("tenant-agent"), List.of("run"), agentEnv).start();
    }

    /**
     * A pod of one busybox container on one GPU, created in the cluster; returns it with its UID.
     * Its grace is 2 s, not 30: sleep ignores SIGTERM, and a scenario need not wait out each delete.
     */
    Pod pod(String name) {
        return client.pods().inNamespace("default").resource(new PodBuilder()
                .withNewMetadata().withName(name).withNamespace("default").endMetadata()
                .withNewSpec().withNodeName(NODE).withRuntimeClassName(FaultFleet.OFFERING).withRestartPolicy("Always")
                .withTerminationGracePeriodSeconds(2L)
                .withContainers(new ContainerBuilder().withName("main").withImage("gpufleet/busybox:test")
                        .withCommand("sleep", "3600").withNewResources().addToLimits("nvidia.com/gpu", new Quantity("1"))
                        .addToLimits("cpu", new Quantity("50m")).addToLimits("memory", new Quantity("32Mi")).endResources().build())
                .endSpec().build()).create();
    }

    void delete(String name) {
        client.pods().inNamespace("default").withName(name).delete();
    }

    List<Pod> pods() {
        return client.pods().inNamespace("default").list().getItems();
    }

    /**
     * Where the cluster and the provider disagree: a pod whose workload is missing or deleted, or
     * whose phase is not the kubelet's word for the workload's; a live workload of the tenant
     * with no pod. Empty when each pod's status equals the provider's.
     */
    List<String> disagreements(Connection db) throws SQLException {
        Map<String, String> provider = new HashMap<>(); // pod UID -> the pod phase the workload's phase is told as
        try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery(
                "SELECT pod_uid, phase FROM workloads WHERE deleted_at IS NULL AND tenant = '" + tenant.replace("'", "''") + "'")) {
            while (rs.next()) {
                provider.put(rs.getString(1), switch (rs.getString(2)) {
                    case "running" -> "Running";
                    case "succeeded" -> "Succeeded";
                    case "failed" -> "Failed";
                    default -> "Pending";
                });
            }
        }
        List<String> out = new ArrayList<>();
        for (Pod p : pods()) {
            String uid = p.getMetadata().getUid();
            String phase = p.getStatus() == null ? null : p.getStatus().getPhase();
            String want = provider.remove(uid);
            if (want == null) {
                out.add("pod " + p.getMetadata().getName() + " has no live workload at the provider");
            } else if (!want.equals(phase)) {
                out.add("pod " + p.getMetadata().getName() + " is " + phase + " in the cluster and " + want + " at the provider");
            }
        }
        provider.keySet().forEach(uid -> out.add("workload of pod " + uid + " is live at the provider and its pod is gone"));
        return out;
    }

    @Override
    public void close() {
        agent.close();
    }
}
