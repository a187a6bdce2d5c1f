package gpufleet.tenant.service;

import gpufleet.common.api.RouteSpec;
import gpufleet.common.api.RouteView;
import gpufleet.common.http.JsonClient;
import gpufleet.tenant.provider.ProviderClient;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.LoadBalancerIngress;
import io.fabric8.kubernetes.api.model.LoadBalancerStatusBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * LoadBalancer Services of class {@code k8s.gpu}, and only those, become routes at the provider:
 * the selector resolves to this node's pods, the targetPort (number or container port name) to
 * each pod's container port. The Service's status gets the public name. Services of any other
 * class, or none, are never touched, so a cloud's or MetalLB's controller keeps working.
 */
public final class ServiceController {
    public static final String CLASS = "k8s.gpu";
    /**
     * How often the provider's routes are compared with the Services even when no Service of our
     * class came or went (a route left by an earlier run, say); asking every pass cost the agent
     * a request and a parse each second for nothing.
     */
    static final Duration RECHECK = Duration.ofMinutes(1);
    private static final Logger log = LoggerFactory.getLogger(ServiceController.class);

    private final KubernetesClient k8s;
    private final ProviderClient provider;
    private final String nodeName;
    /** This node's pods as the pod informer holds them; null while it has none yet. */
    private final Supplier<List<Pod>> nodePods;
    /** The cluster's Services as an informer holds them; null while it has none yet. */
    private final Supplier<List<Service>> allServices;
    /** What was last sent for each Service UID, so an unchanged Service costs no call. */
    private final Map<String, RouteSpec> sent = new HashMap<>();
    private final Map<String, String> hostnames = new HashMap<>();
    /** The Services of our class when the provider's routes were last compared with them, and when (nanoTime). */
    private Set<String> compared;
    private long comparedAt;

    public ServiceController(KubernetesClient k8s, ProviderClient provider, String nodeName, Supplier<List<Pod>> nodePods,
                             Supplier<List<Service>> allServices) {
        this.k8s = k8s;
        this.provider = provider;
        this.nodeName = nodeName;
        this.nodePods = nodePods;
        this.allServices = allServices;
    }

    static boolean ours(Service s) {
        return s.getSpec() != null && "LoadBalancer".equals(s.getSpec().getType()) && CLASS.equals(s.getSpec().getLoadBalancerClass());
    }

    /**
     * One pass over every Service of our class; removes routes whose Service is gone (the
     * provider's routes are read when the set of such Services changed, or after {@link #RECHECK}).
     */
    public void syncOnce(String tenant, String cluster) throws IOException, JsonClient.Refused {
        List<Service> all = allServices.get();
        List<Service> services = (all != null ? all : k8s.services().inAnyNamespace().list().getItems()).stream()
                .filter(ServiceController::ours).toList();
        // Without a Service of our class no pod is looked at; with one, the informer's copy of the
        // node's pods is read (listing the cluster's every round cost a core's tenth at 5,000 pods).
        List<Pod> pods = services.isEmpty() ? List.of() : nodePods.get();
        if (pods == null) {
            pods = k8s.pods().inAnyNamespace().list().getItems().stream()
                    .filter(p -> p.getSpec() != null && nodeName.equals(p.getSpec().getNodeName())).toList();
        }
        Set<String> live = new HashSet<>();
        for (Service s : services) {
            String uid = s.getMetadata().getUid();
            live.add(uid);
            RouteSpec spec = route(s, pods);
            if (!spec.equals(sent.get(uid))) {
                RouteView v = provider.putRoute(tenant, uid, spec, cluster);
                log.info("service {}/{} published at https://{} ({} target(s), {} ready)", s.getMetadata().getNamespace(),
                        s.getMetadata().getName(), v.hostname(), v.targets().size(), v.readyTargets());
                sent.put(uid, spec);
                hostnames.put(uid, v.hostname());
            }
            writeStatus(s, hostnames.get(uid));
        }
        if (!live.equals(compared) || System.nanoTime() - comparedAt > RECHECK.toNanos()) {
            for (RouteView r : provider.routes(tenant, cluster)) {
                if (!live.contains(r.serviceUid())) {
                    provider.deleteRoute(tenant, r.serviceUid(), cluster);
                    log.info("service {}/{} is gone: its route {} removed", r.namespace(), r.name(), r.hostname());
                }
            }
            compared = live;
            comparedAt = System.nanoTime();
        }
        sent.keySet().retainAll(live);
        hostnames.keySet().retainAll(live);
    }

    /** The Service's first port, sent to each ready-or-starting pod it selects on this node. */
    static RouteSpec route(Service s, List<Pod> pods) {
        ServicePort port = s.getSpec().getPorts() == null || s.getSpec().getPorts().isEmpty() ? null : s.getSpec().getPorts().get(0);
        Map<String, String> selector = s.getSpec().getSelector();
        List<RouteSpec.Target> targets = new ArrayList<>();
        if (port != null && selector != null && !selector.isEmpty()) {
            for (Pod p : pods) {
                Map<String, String> labels = p.getMetadata().getLabels() == null ? Map.of() : p.getMetadata().getLabels();
                boolean selected = Objects.equals(p.getMetadata().getNamespace(), s.getMetadata().getNamespace())
                        && selector.entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())))
                        && p.getMetadata().getDeletionTimestamp() == null;
                Integer target = selected ? targetPort(port, p) : null;
                if (target != null) {
                    targets.add(new RouteSpec.Target(p.getMetadata().getUid(), target));
                }
            }
        }
        targets.sort(java.util.Comparator.comparing(RouteSpec.Target::podUid));
        return new RouteSpec(s.getMetadata().getNamespace(), s.getMetadata().getName(), port == null ? 80 : port.getPort(), targets);
    }

    /** targetPort as Kubernetes resolves it: a number, a container port's name on this pod, or the port itself. */
    static Integer targetPort(ServicePort port, Pod pod) {
        IntOrString t = port.getTargetPort();
        if (t == null || (t.getIntVal() == null && t.getStrVal() == null)) {
            return port.getPort();
        }
        if (t.getIntVal() != null) {
            return t.getIntVal();
        }
        for (var c : pod.getSpec().getContainers()) {
            for (ContainerPort cp : c.getPorts() == null ? List.<ContainerPort>of() : c.getPorts()) {
                if (t.getStrVal().equals(cp.getName())) {
                    return cp.getContainerPort();
                }
            }
        }
        return null; // This pod has no port by that name: not an endpoint, as in Kubernetes.
    }

    private void writeStatus(Service s, String hostname) {
        List<LoadBalancerIngress> ingress = s.getStatus() == null || s.getStatus().getLoadBalancer() == null
                ? null : s.getStatus().getLoadBalancer().getIngress();
        if (hostname == null || ingress != null && ingress.size() == 1 && hostname.equals(ingress.get(0).getHostname())) {
            return;
        }
        s.setStatus(s.getStatus() == null ? new io.fabric8.kubernetes.api.model.ServiceStatus() : s.getStatus());
        s.getStatus().setLoadBalancer(new LoadBalancerStatusBuilder().addNewIngress().withHostname(hostname).endIngress().build());
        k8s.services().inNamespace(s.getMetadata().getNamespace()).resource(s).updateStatus();
    }
}
