package gpufleet.tenant.pod;

import gpufleet.common.http.JsonClient;
import gpufleet.common.api.OfferingView;
import gpufleet.common.api.WorkloadView;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EphemeralContainer;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pods bound to the virtual node become workloads at the provider (keyed by pod UID), and their
 * status comes back. Pods that break a rule stay Pending with the reason and a Warning Event;
 * pods being deleted are stopped, then removed; workloads whose pod is gone are deleted. One pod
 * at a time ({@link #syncPod}, driven by {@link PodSync}'s work queue) or a whole pass
 * ({@link #syncOnce}).
 */
public final class PodController {
    private static final Logger log = LoggerFactory.getLogger(PodController.class);

    private final KubernetesClient k8s;
    private final String nodeName;
    private final String hostIp;
    private final Set<String> warned = ConcurrentHashMap.newKeySet();
    /** The host's Events (probe failures and the kills for them), recorded once each. */
    private final HostEvents hostEvents = new HostEvents();
    private final EventRecorder events;
    private final PodResolver resolver;
    private final FollowedVolumes followed = new FollowedVolumes();
    /** Whether the API server filters by field (asked once, by the first pass). */
    private volatile Boolean fieldSelectors;

    public PodController(KubernetesClient k8s, String nodeName, String hostIp) {
        this.k8s = k8s;
        this.nodeName = nodeName;
        this.events = new EventRecorder(k8s, nodeName);
        this.hostIp = hostIp;
        this.resolver = new PodResolver(k8s, hostIp);
    }

    public String nodeName() {
        return nodeName;
    }

    /** Which pods' volume files to resolve again ({@link PodSync} marks them on a ConfigMap's or Secret's change). */
    FollowedVolumes followed() {
        return followed;
    }

    /**
     * One pass over the node's pods, read from the API server. Returns true while some pod is on
     * its way (placed but not yet running, or being deleted), so that the caller looks again soon.
     */
    public boolean syncOnce(PodProvider provider, List<OfferingView> offerings) throws IOException, JsonClient.Refused {
        Map<String, OfferingView> classes = classes(offerings);
        Map<String, WorkloadView> workloads = new HashMap<>();
        provider.list().forEach(w -> workloads.put(w.podUid(), w));
        if (fieldSelectors == null) {
            fieldSelectors = PodSync.fieldSelectorsChecked(k8s);
        }
        List<Pod> pods = (fieldSelectors ? k8s.pods().inAnyNamespace().withField("spec.nodeName", nodeName)
                : k8s.pods().inAnyNamespace()).list().getItems();
        boolean moving = false;
        for (Pod pod : pods) {
            if (!nodeName.equals(pod.getSpec().getNodeName())) {
                continue; // a server that ignores the field selector (the mock API server) sends every pod
            }
            try {
                moving |= syncPod(provider, classes, pod, workloads.get(pod.getMetadata().getUid())).moving();
            } catch (RuntimeException e) {
                log.warn("pod {}/{}: {}", pod.getMetadata().getNamespace(), pod.getMetadata().getName(), e.getMessage());
            } catch (JsonClient.Refused e) {
                if (e.status() == 401) {
                    throw e; // this agent's token is refused: nothing else will go through either
                }
                moving = true;
            }
        }
        collect(provider, workloads.values(), pods);
        return moving;
    }

    static Map<String, OfferingView> classes(List<OfferingView> offerings) {
        Map<String, OfferingView> classes = new HashMap<>();
        offerings.forEach(o -> classes.put(o.name(), o));
        return classes;
    }

    /** Deletes the workloads whose pod is gone from this node (the pods given are all the node has). */
    void collect(PodProvider provider, Collection<WorkloadView> workloads, List<Pod> pods) throws IOException, JsonClient.Refused {
        Set<String> uids = new HashSet<>();
        pods.forEach(p -> uids.add(p.getMetadata().getUid()));
        for (WorkloadView w : workloads) {
            if (!uids.contains(w.podUid()) && !w.deletionRequested()) {
                log.info("pod {}/{} is gone: deleting its workload", w.namespace(), w.name());
                provider.delete(w.podUid());
            }
        }
    }

    /**
     * What a pod's sync ended with: whether the pod is on its way (placed but not yet running, or
     * being deleted), and its workload as the provider last answered (null: none).
     */
    public record Outcome(boolean moving, WorkloadView workload) {}

    /**
     * One pod, given what the provider last said about it ({@code known}, null when it has no
     * workload). The pod is not mutated. A workload created here is in the outcome, so that the
     * pod's next sync does not send it again before the provider's next list shows it. A refusal
     * is shown on the pod (Pending with the reason, one Warning Event) and thrown, so that the
     * caller tries again later.
     */
    public Outcome syncPod(PodProvider provider, Map<String, OfferingView> classes, Pod pod, WorkloadView known)
            throws IOException, JsonClient.Refused {
        if (known == null && finished(pod) && pod.getMetadata().getDeletionTimestamp() == null) {
            return new Outcome(false, null); // Like a kubelet: a pod that failed or succeeded never runs again (an evicted one, say).
        }
        boolean moving = pod.getMetadata().getDeletionTimestamp() != null || known == null
                || known.phase().equals("placed") || known.deletionRequested();
        WorkloadView now;
        try {
            now = sync(provider, new PodBuilder(pod).build(), known, classes);
        } catch (JsonClient.Refused e) {
            if (e.status() != 401) {
                // One pod refused (over a quota, too many requests, a spec the provider will not take)
                // waits with the reason and is tried again.
                warn(pod, refusalReason(e), String.valueOf(e.getMessage()).replaceFirst("^[A-Z]+ \\S+: [0-9]{3} ", ""));
            }
            throw e;
        }
        return new Outcome(moving, now);
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

    /** Returns the workload as last answered: {@code w}, or the one just created; null when the pod was refused. */
    private WorkloadView sync(PodProvider provider, Pod pod, WorkloadView w, Map<String, OfferingView> classes)
            throws IOException, JsonClient.Refused {
        String uid = pod.getMetadata().getUid();
        if (pod.getMetadata().getDeletionTimestamp() != null) {
            provider.delete(uid);
            WorkloadView now = provider.get(uid);
            for (var c : pod.getSpec().getContainers()) {
                record(pod, "killing." + c.getName(), "Normal", "Killing", "Stopping container " + c.getName());
            }
            if (now == null || now.phase().equals("deleted")) {
                // Like the kubelet: once the containers are gone, the pod object goes too.
                k8s.pods().inNamespace(pod.getMetadata().getNamespace()).withName(pod.getMetadata().getName()).withGracePeriod(0).delete();
            }
            return now;
        }
        if (w == null) {
            PodTranslator.Result r = admit(pod, classes);
            if (r instanceof PodTranslator.Refused refused) {
                write(pod, PodStatuses.refused(pod, refused.reason(), refused.message()), List.of());
                warn(pod, refused.reason(), refused.message());
                return null;
            }
            long sent = System.nanoTime();
            w = provider.create(((PodTranslator.Ok) r).spec());
            log.info("pod {}/{} sent to the provider: {} in {} ms", pod.getMetadata().getNamespace(), pod.getMetadata().getName(),
                    w.phase(), (System.nanoTime() - sent) / 1_000_000);
        } else if (!changedImages(pod, w).isEmpty()) {
            update(provider, pod, classes, changedImages(pod, w));
        } else if (Set.of("pending", "placed", "running").contains(w.phase()) && !w.deletionRequested() && followed.due(pod)) {
            follow(provider, pod, classes);
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
        return w;
    }

    /**
     * The containers whose image in the pod differs from the one the host runs: the only change the
     * API server lets a running pod make to a container. Until the host reports a container, there is
     * nothing to compare.
     */
    static List<String> changedImages(Pod pod, WorkloadView w) {
        Map<String, String> running = new HashMap<>();
        w.containers().forEach(c -> running.put(c.name(), c.image()));
        w.initContainers().forEach(c -> running.put(c.name(), c.image()));
        List<String> changed = new ArrayList<>();
        List<Container> all = new ArrayList<>(pod.getSpec().getInitContainers() == null ? List.of() : pod.getSpec().getInitContainers());
        all.addAll(pod.getSpec().getContainers());
        for (Container c : all) {
            String image = running.get(c.getName());
            if (image != null && !image.equals(c.getImage())) {
                changed.add(c.getName());
            }
        }
        return changed;
    }

    /** Sends the pod's new images; the host replaces those containers, as the kubelet does. */
    private void update(PodProvider provider, Pod pod, Map<String, OfferingView> classes, List<String> changed)
            throws IOException, JsonClient.Refused {
        PodTranslator.Result r = admit(pod, classes);
        if (r instanceof PodTranslator.Refused refused) {
            warn(pod, refused.reason(), refused.message());
            return;
        }
        provider.update(((PodTranslator.Ok) r).spec());
        followed.sent(((PodTranslator.Ok) r).spec());
        for (String name : changed) {
            String image = pod.getSpec().getContainers().stream().filter(c -> c.getName().equals(name)).map(Container::getImage)
                    .findFirst().orElse("");
            record(pod, "changed." + name + "." + Integer.toHexString(image.hashCode()), "Normal", "Killing",
                    "Container " + name + " definition changed, will be restarted");
        }
    }

    /**
     * Sends the pod's files when its volumes' changed since last sent (a ConfigMap or Secret
     * edited); the host swaps them in place, restarting nothing. As on a kubelet, a pod whose
     * object is gone or unreadable keeps the files it has.
     */
    private void follow(PodProvider provider, Pod pod, Map<String, OfferingView> classes) throws IOException, JsonClient.Refused {
        if (!(admit(pod, classes) instanceof PodTranslator.Ok ok) || followed.same(ok.spec())) {
            return;
        }
        try {
            provider.update(ok.spec());
        } catch (IOException | JsonClient.Refused e) {
            followed.stale(pod.getMetadata().getUid()); // tried again with the pod's back-off
            throw e;
        }
        followed.sent(ok.spec());
        log.info("pod {}/{}: volume files changed, sent to the provider", pod.getMetadata().getNamespace(), pod.getMetadata().getName());
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
        // Recorded whether or not the status moved: a probe failing again and again changes nothing it shows.
        for (PodEvents.Event e : hostEvents.fresh(pod.getMetadata().getUid(), reported)) {
            record(pod, e.key(), e.type(), e.reason(), e.message());
        }
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

    /** Records an Event once per key, a repeat of an earlier one folded into it (count and lastTimestamp). */
    private void record(Pod pod, String key, String type, String reason, String message) {
        events.record(pod, key, type, reason, message);
    }
}
