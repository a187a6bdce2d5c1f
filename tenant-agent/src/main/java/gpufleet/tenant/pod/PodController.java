package gpufleet.tenant.pod;

import gpufleet.common.http.JsonClient;
import gpufleet.common.api.OfferingView;
import gpufleet.common.api.WorkloadView;
import gpufleet.tenant.provider.ProviderClient;
import io.fabric8.kubernetes.api.model.EphemeralContainer;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pods bound to the virtual node become workloads at the provider (keyed by pod UID), and their
 * status comes back. Pods that break a rule stay Pending with the reason and a Warning Event;
 * pods being deleted are stopped, then removed; workloads whose pod is gone are deleted.
 */
public final class PodController {
    private static final Logger log = LoggerFactory.getLogger(PodController.class);

    private final KubernetesClient k8s;
    private final ProviderClient provider;
    private final String nodeName;
    private final String hostIp;
    private final Set<String> warned = new HashSet<>();
    private final PodResolver resolver;

    public PodController(KubernetesClient k8s, ProviderClient provider, String nodeName, String hostIp) {
        this.k8s = k8s;
        this.provider = provider;
        this.nodeName = nodeName;
        this.hostIp = hostIp;
        this.resolver = new PodResolver(k8s, hostIp);
    }

    /**
     * One pass over the node's pods. Returns true while some pod is on its way (placed but not yet
     * running, or being deleted), so that the caller looks again soon rather than at its slow pace.
     */
    public boolean syncOnce(String tenant, List<OfferingView> offerings) throws IOException, JsonClient.Refused {
        Map<String, OfferingView> classes = new HashMap<>();
        offerings.forEach(o -> classes.put(o.name(), o));
        Map<String, WorkloadView> workloads = new HashMap<>();
        provider.workloads(tenant).forEach(w -> workloads.put(w.podUid(), w));
        Set<String> pods = new HashSet<>();
        boolean moving = false;
        for (Pod pod : k8s.pods().inAnyNamespace().list().getItems()) {
            if (!nodeName.equals(pod.getSpec().getNodeName())) {
                continue;
            }
            pods.add(pod.getMetadata().getUid());
            WorkloadView known = workloads.get(pod.getMetadata().getUid());
            if (known == null && finished(pod) && pod.getMetadata().getDeletionTimestamp() == null) {
                continue; // Like a kubelet: a pod that failed or succeeded never runs again (an evicted one, say).
            }
            moving |= pod.getMetadata().getDeletionTimestamp() != null || known == null
                    || known.phase().equals("placed") || known.deletionRequested();
            try {
                sync(tenant, pod, known, classes);
            } catch (RuntimeException e) {
                log.warn("pod {}/{}: {}", pod.getMetadata().getNamespace(), pod.getMetadata().getName(), e.getMessage());
            } catch (JsonClient.Refused e) {
                if (e.status() == 401) {
                    throw e; // this agent's token is refused: nothing else will go through either
                }
                // One pod refused (over a quota, too many requests, a spec the provider will not take)
                // waits with the reason; the pass goes on with the others and this one is tried again.
                warn(pod, refusalReason(e), String.valueOf(e.getMessage()).replaceFirst("^[A-Z]+ \\S+: [0-9]{3} ", ""));
                moving = true;
            }
        }
        for (WorkloadView w : workloads.values()) {
            if (!pods.contains(w.podUid()) && !w.deletionRequested()) {
                log.info("pod {}/{} is gone: deleting its workload", w.namespace(), w.name());
                provider.deleteWorkload(tenant, w.podUid());
            }
        }
        return moving;
    }

    private static String refusalReason(JsonClient.Refused e) {
        if (e.status() == 429) {
            return "TooManyRequests";
        }
        return e.status() == 403 && e.getMessage() != null && e.getMessage().contains("exceeded quota") ? "ExceededQuota" : "FailedCreate";
    }

    private static boolean finished(Pod pod) {
        String phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
        return "Failed".equals(phase) || "Succeeded".equals(phase);
    }

    private void sync(String tenant, Pod pod, WorkloadView w, Map<String, OfferingView> classes)
            throws IOException, JsonClient.Refused {
        String uid = pod.getMetadata().getUid();
        if (pod.getMetadata().getDeletionTimestamp() != null) {
            provider.deleteWorkload(tenant, uid);
            WorkloadView now = provider.workload(tenant, uid);
            for (var c : pod.getSpec().getContainers()) {
                record(pod, "killing." + c.getName(), "Normal", "Killing", "Stopping container " + c.getName());
            }
            if (now == null || now.phase().equals("deleted")) {
                // Like the kubelet: once the containers are gone, the pod object goes too.
                k8s.pods().inNamespace(pod.getMetadata().getNamespace()).withName(pod.getMetadata().getName()).withGracePeriod(0).delete();
            }
            return;
        }
        if (w == null) {
            PodTranslator.Result r = admit(pod, classes);
            if (r instanceof PodTranslator.Refused refused) {
                write(pod, PodStatuses.refused(pod, refused.reason(), refused.message()), List.of());
                warn(pod, refused.reason(), refused.message());
                return;
            }
            w = provider.createWorkload(tenant, ((PodTranslator.Ok) r).spec());
            log.info("pod {}/{} sent to the provider: {}", pod.getMetadata().getNamespace(), pod.getMetadata().getName(), w.phase());
        }
        String ignored = PodFields.check(pod).ignoredMessage();
        if (ignored != null) {
            warn(pod, "IgnoredPodFields", ignored);
        }
        ephemeralContainers(pod);
        if (w.phase().equals("pending") && w.reason() != null) {
            warn(pod, "FailedScheduling", w.message());
        }
        write(pod, PodStatuses.of(pod, w, hostIp), w.containers());
    }

    private PodTranslator.Result admit(Pod pod, Map<String, OfferingView> classes) {
        String rc = pod.getSpec().getRuntimeClassName();
        OfferingView o = rc == null ? null : classes.get(rc);
        if (o == null) {
            return new PodTranslator.Refused("RuntimeClassNotOffered", rc == null
                    ? "the pod names no runtimeClassName; pick one of: " + String.join(", ", classes.keySet())
                    : "RuntimeClass " + rc + " is not offered to this cluster; pick one of: " + String.join(", ", classes.keySet()));
        }
        String violation = Baseline.violation(pod);
        if (violation != null) {
            return new PodTranslator.Refused("PodSecurityBaseline", "violates PodSecurity \"baseline\": " + violation);
        }
        String unsupported = PodFields.check(pod).refusal();
        if (unsupported != null) {
            return new PodTranslator.Refused("UnsupportedPodSpec", unsupported);
        }
        try {
            return PodTranslator.translate(pod, o, resolver.resolve(pod));
        } catch (PodResolver.Missing m) {
            // As the kubelet: the pod waits until what it references exists.
            return new PodTranslator.Refused("CreateContainerConfigError", m.getMessage());
        }
    }

    /**
     * Ephemeral containers (kubectl debug adds them to a running pod) are not run on k8s.gpu: each
     * gets one Warning Event saying so, or naming the Baseline control it breaks. kubectl exec
     * reaches the pod's own containers instead.
     */
    private void ephemeralContainers(Pod pod) {
        for (EphemeralContainer e : pod.getSpec().getEphemeralContainers() == null ? List.<EphemeralContainer>of()
                : pod.getSpec().getEphemeralContainers()) {
            if (!warned.add(pod.getMetadata().getUid() + "/ephemeral/" + e.getName())) {
                continue;
            }
            String violation = Baseline.ephemeral(e);
            if (violation != null) {
                record(pod, "ephemeral." + e.getName(), "Warning", "PodSecurityBaseline", "ephemeral container \"" + e.getName()
                        + "\" is not run: violates PodSecurity \"baseline\": " + violation);
            } else {
                record(pod, "ephemeral." + e.getName(), "Warning", "EphemeralContainersNotSupported", "ephemeral container \""
                        + e.getName() + "\" is not run: ephemeral containers (kubectl debug) are not supported on k8s.gpu yet; "
                        + "kubectl exec reaches the pod's containers");
            }
        }
    }

    private void write(Pod pod, PodStatus status, List<gpufleet.common.api.ContainerStatus> reported) {
        if (!PodStatuses.differ(pod.getStatus(), status)) {
            return;
        }
        for (PodEvents.Event e : PodEvents.between(pod.getStatus(), status, reported)) {
            record(pod, e.key(), e.type(), e.reason(), e.message());
        }
        pod.setStatus(status);
        k8s.pods().inNamespace(pod.getMetadata().getNamespace()).resource(pod).updateStatus();
    }

    /** One Warning Event per pod and reason, as `kubectl describe` shows them. */
    private void warn(Pod pod, String reason, String message) {
        if (!warned.add(pod.getMetadata().getUid() + "/" + reason)) {
            return;
        }
        record(pod, "warn." + reason.toLowerCase(java.util.Locale.ROOT), "Warning", reason, message);
    }

    /** Records an Event once: its name is derived from the pod and the key, and a second create is a no-op. */
    private void record(Pod pod, String key, String type, String reason, String message) {
        String uid = pod.getMetadata().getUid();
        String name = pod.getMetadata().getName() + "." + (uid == null ? "x" : uid.substring(0, Math.min(8, uid.length()))) + "."
                + key.toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9.-]", "-");
        if (k8s.v1().events().inNamespace(pod.getMetadata().getNamespace()).withName(name).get() != null) {
            return;
        }
        String now = Instant.now().toString();
        k8s.v1().events().inNamespace(pod.getMetadata().getNamespace()).resource(new EventBuilder()
                .withNewMetadata().withName(name)
                .withNamespace(pod.getMetadata().getNamespace()).endMetadata()
                .withInvolvedObject(new ObjectReferenceBuilder().withKind("Pod").withApiVersion("v1")
                        .withName(pod.getMetadata().getName()).withNamespace(pod.getMetadata().getNamespace())
                        .withUid(pod.getMetadata().getUid()).build())
                .withType(type).withReason(reason).withMessage(message).withCount(1)
                .withFirstTimestamp(now).withLastTimestamp(now)
                .withNewSource().withComponent("gpufleet-tenant-agent").withHost(nodeName).endSource()
                .build()).create();
    }
}
