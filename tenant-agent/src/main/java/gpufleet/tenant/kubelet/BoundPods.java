package gpufleet.tenant.kubelet;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EphemeralContainer;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodList;
import io.fabric8.kubernetes.api.model.PodListBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.List;
import java.util.stream.Stream;

/** The pods bound to this node, read from the API server: a request's pod is known by its uid, others are refused. */
final class BoundPods {
    private final KubernetesClient k8s;
    private final String nodeName;

    BoundPods(KubernetesClient k8s, String nodeName) {
        this.k8s = k8s;
        this.nodeName = nodeName;
    }

    /** The pod as the backend knows it; 404 when it does not exist or runs on another node. Blocks. */
    KubeletBackend.PodRef resolve(String namespace, String name) {
        return ref(bound(namespace, name));
    }

    /** Like {@link #resolve}, also checking that the pod has that container. Blocks. */
    KubeletBackend.PodRef resolve(String namespace, String name, String container) {
        Pod pod = bound(namespace, name);
        Stream<String> names = Stream.of(
                pod.getSpec().getContainers().stream().map(Container::getName),
                pod.getSpec().getInitContainers().stream().map(Container::getName),
                pod.getSpec().getEphemeralContainers().stream().map(EphemeralContainer::getName)).flatMap(s -> s);
        if (names.noneMatch(container::equals)) {
            throw new KubeletException(404, "container \"" + container + "\" not found in pod \"" + namespace + "/" + name + "\"");
        }
        return ref(pod);
    }

    /** Every pod bound to this node, as the kubelet's /pods lists them. Blocks. */
    PodList list() {
        // Filtered here rather than with a spec.nodeName field selector, which fabric8's mock server answers
        // with an empty list; /pods is a debugging aid, not a hot path.
        List<Pod> pods = k8s.pods().inAnyNamespace().list().getItems().stream()
                .filter(p -> nodeName.equals(p.getSpec().getNodeName())).toList();
        return new PodListBuilder().withNewMetadata().endMetadata().withItems(pods).build();
    }

    String toJson(Object o) {
        return k8s.getKubernetesSerialization().asJson(o);
    }

    private Pod bound(String namespace, String name) {
        Pod pod = k8s.pods().inNamespace(namespace).withName(name).get();
        if (pod == null) {
            throw new KubeletException(404, "pods \"" + name + "\" not found in namespace \"" + namespace + "\"");
        }
        if (!nodeName.equals(pod.getSpec().getNodeName())) {
            throw new KubeletException(404, "pod \"" + namespace + "/" + name + "\" is not bound to node \"" + nodeName
                    + "\" (it is on " + (pod.getSpec().getNodeName() == null ? "no node yet" : "node \"" + pod.getSpec().getNodeName() + "\"") + ")");
        }
        return pod;
    }

    private static KubeletBackend.PodRef ref(Pod pod) {
        return new KubeletBackend.PodRef(pod.getMetadata().getNamespace(), pod.getMetadata().getName(), pod.getMetadata().getUid());
    }
}
