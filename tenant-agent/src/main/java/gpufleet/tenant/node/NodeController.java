package gpufleet.tenant.node;

import gpufleet.common.http.JsonClient;
import gpufleet.common.api.NodeResources;
import gpufleet.common.api.OfferingView;
import gpufleet.tenant.agent.TenantAgentConfig;
import gpufleet.tenant.provider.ProviderClient;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeCondition;
import io.fabric8.kubernetes.api.model.NodeStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.api.model.node.v1.RuntimeClass;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.ZoneOffset;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the virtual node, its Lease and the RuntimeClasses equal to what the provider says. The
 * node's status is written when it changes and at least every status-refresh period; the Lease is
 * renewed on every sync, as the kubelet's node lease is.
 */
public final class NodeController {
    private static final Logger log = LoggerFactory.getLogger(NodeController.class);
    public static final String LEASE_NAMESPACE = "kube-node-lease";

    private final KubernetesClient k8s;
    private final ProviderClient provider;
    private final TenantAgentConfig config;
    /** This node's pods as the pod informer holds them; null while it has none yet. */
    private final Supplier<List<Pod>> nodePods;
    private String tenant;
    private Instant lastStatusWrite = Instant.EPOCH;

    public NodeController(KubernetesClient k8s, ProviderClient provider, TenantAgentConfig config, Supplier<List<Pod>> nodePods) {
        this.k8s = k8s;
        this.provider = provider;
        this.config = config;
        this.nodePods = nodePods;
    }

    /** What the provider said in a round: the tenant and its offerings (null when it could not be asked). */
    public record Provider(String tenant, List<OfferingView> offerings) {}

    /** One round: ask the provider, then bring node, lease and RuntimeClasses in line. */
    public Provider syncOnce() {
        NodeResources resources = null;
        List<OfferingView> offerings = null;
        String unreachable = null;
        // The pods first, the provider's figures after: a pod bound in between is then held at the
        // provider but not yet counted, which leaves the node short for a moment, never over. The
        // informer's copy keeps that order: the agent sends the provider only pods it holds there.
        // Until it has listed once, the cluster's pods are listed whole and filtered here (fabric8's
        // mock API server, which the tests run against, answers a spec.nodeName field selector with
        // no pods).
        List<Pod> pods = nodePods.get();
        NodeFigures.Counted counted = NodeFigures.counted(pods != null ? pods : k8s.pods().inAnyNamespace().list().getItems(),
                config.nodeName());
        try {
            if (tenant == null) {
                tenant = provider.tenant();
            }
            resources = NodeFigures.forNode(provider.node(tenant), counted);
            offerings = provider.offerings(tenant);
        } catch (IOException | JsonClient.Refused e) {
            unreachable = e.getMessage() == null ? e.toString() : e.getMessage();
            log.warn("GPU provider unreachable: {}", JsonClient.reason(e));
        }
        Node node = ensureNode();
        writeStatus(node, resources, unreachable);
        renewLease(node);
        if (offerings != null) {
            syncRuntimeClasses(offerings);
            return new Provider(tenant, offerings);
        }
        return null;
    }

    private Node ensureNode() {
        Node existing = k8s.nodes().withName(config.nodeName()).get();
        if (existing == null) {
            log.info("creating node {}", config.nodeName());
            return k8s.nodes().resource(VirtualNode.node(config.nodeName())).create();
        }
        Map<String, String> labels = existing.getMetadata().getLabels();
        boolean labelled = labels != null && labels.entrySet().containsAll(VirtualNode.labels(config.nodeName()).entrySet());
        boolean tainted = existing.getSpec() != null && existing.getSpec().getTaints() != null
                && existing.getSpec().getTaints().contains(VirtualNode.taint(config.nodeName()));
        if (labelled && tainted) {
            return existing;
        }
        return k8s.nodes().withName(config.nodeName()).edit(n -> {
            n.getMetadata().getLabels().putAll(VirtualNode.labels(config.nodeName()));
            if (!tainted) {
                n.getSpec().getTaints().add(VirtualNode.taint(config.nodeName()));
            }
            return n;
        });
    }

    private void writeStatus(Node node, NodeResources resources, String unreachable) {
        Instant now = Instant.now();
        NodeStatus wanted = VirtualNode.status(node.getStatus(), resources, unreachable, config.nodeAddress(), config.kubeletPort(), now);
        boolean changed = !essence(wanted).equals(essence(node.getStatus()));
        if (!changed && Duration.between(lastStatusWrite, now).compareTo(config.statusRefresh()) < 0) {
            return;
        }
        node.setStatus(wanted);
        k8s.nodes().resource(node).updateStatus();
        lastStatusWrite = now;
    }

    /** What matters in a status, without the heartbeat times that change on every write. */
    private static Object essence(NodeStatus s) {
        if (s == null) {
            return List.of();
        }
        Set<List<String>> conditions = new HashSet<>();
        if (s.getConditions() != null) {
            for (NodeCondition c : s.getConditions()) {
                conditions.add(List.of(c.getType(), c.getStatus(), String.valueOf(c.getReason()), String.valueOf(c.getMessage())));
            }
        }
        return List.of(String.valueOf(s.getCapacity()), String.valueOf(s.getAllocatable()), conditions);
    }

    private void renewLease(Node node) {
        ZonedDateTime now = ZonedDateTime.now(ZoneOffset.UTC);
        Lease lease = k8s.leases().inNamespace(LEASE_NAMESPACE).withName(config.nodeName()).get();
        if (lease == null) {
            k8s.leases().inNamespace(LEASE_NAMESPACE).resource(new LeaseBuilder()
                    .withNewMetadata().withName(config.nodeName()).withNamespace(LEASE_NAMESPACE)
                    .withOwnerReferences(new OwnerReferenceBuilder().withApiVersion("v1").withKind("Node")
                            .withName(config.nodeName()).withUid(node.getMetadata().getUid()).build())
                    .endMetadata()
                    .withNewSpec().withHolderIdentity(config.nodeName())
                    .withLeaseDurationSeconds((int) config.leaseDuration().toSeconds()).withRenewTime(now).endSpec()
                    .build()).create();
            return;
        }
        k8s.leases().inNamespace(LEASE_NAMESPACE).withName(config.nodeName()).edit(l -> {
            l.getSpec().setRenewTime(now);
            return l;
        });
    }

    /** Creates and updates one class per offering; removes classes it made for offerings gone; never touches others. */
    private void syncRuntimeClasses(List<OfferingView> offerings) {
        Set<String> wanted = new HashSet<>();
        for (OfferingView o : offerings) {
            wanted.add(o.name());
            RuntimeClass want = RuntimeClasses.of(o, config.nodeName());
            RuntimeClass have = k8s.runtimeClasses().withName(o.name()).get();
            if (have == null) {
                log.info("creating RuntimeClass {}", o.name());
                k8s.runtimeClasses().resource(want).create();
            } else if (!RuntimeClasses.AGENT.equals(have.getMetadata().getLabels() == null ? null
                    : have.getMetadata().getLabels().get(RuntimeClasses.MANAGED_BY))) {
                log.warn("RuntimeClass {} exists and is not managed by the tenant-agent; leaving it alone", o.name());
            } else if (!RuntimeClasses.same(have, want)) {
                log.info("updating RuntimeClass {}", o.name());
                // handler and scheduling are immutable in Kubernetes: replace the object.
                k8s.runtimeClasses().withName(o.name()).delete();
                k8s.runtimeClasses().resource(want).create();
            }
        }
        for (RuntimeClass rc : k8s.runtimeClasses().withLabel(RuntimeClasses.MANAGED_BY, RuntimeClasses.AGENT).list().getItems()) {
            if (!wanted.contains(rc.getMetadata().getName())) {
                log.info("deleting RuntimeClass {}: no longer offered", rc.getMetadata().getName());
                k8s.runtimeClasses().withName(rc.getMetadata().getName()).delete();
            }
        }
    }
}
