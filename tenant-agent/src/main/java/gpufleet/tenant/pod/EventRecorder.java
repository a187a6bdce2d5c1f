package gpufleet.tenant.pod;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Records a pod's Events as the kubelet's recorder does (client-go's EventCorrelator): an Event
 * the same as one recorded before (the same pod, type, reason and message) is not made again;
 * the first one's count goes up and its lastTimestamp moves, so a crash loop's BackOff or a
 * probe failing again and again shows as one line with "(x12 over 5m)" in kubectl describe.
 * Each occurrence has a key: a key recorded once is never counted again (the same status seen
 * twice is one occurrence), and its name in the API server keeps an agent restarted since from
 * making it twice.
 */
final class EventRecorder {
    /** client-go's cache of Events seen, oldest forgotten first; an Event forgotten starts a new count. */
    static final int REMEMBERED = 4096;

    private final KubernetesClient k8s;
    private final String nodeName;
    /** The name of the Event each (pod, type, reason, message) was last recorded as. */
    private final Map<String, String> folded = lru();
    /** The occurrences (pod and key) recorded by this process. */
    private final Set<String> keys = Collections.newSetFromMap(lru());

    EventRecorder(KubernetesClient k8s, String nodeName) {
        this.k8s = k8s;
        this.nodeName = nodeName;
    }

    private static <V> Map<String, V> lru() {
        return new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, V> eldest) {
                return size() > REMEMBERED;
            }
        };
    }

    /** Records one occurrence {@code key} of an Event about {@code pod}. */
    void record(Pod pod, String key, String type, String reason, String message) {
        String uid = pod.getMetadata().getUid();
        String namespace = pod.getMetadata().getNamespace();
        String same = uid + "\n" + type + "\n" + reason + "\n" + message;
        String earlier;
        synchronized (this) {
            if (!keys.add(uid + "/" + key)) {
                return;
            }
            earlier = folded.get(same);
        }
        try {
            String name = earlier != null && counted(namespace, earlier) ? earlier : create(pod, key, type, reason, message);
            synchronized (this) {
                folded.put(same, name);
            }
        } catch (RuntimeException e) {
            synchronized (this) {
                keys.remove(uid + "/" + key); // not recorded: the next sync tries again
            }
            throw e;
        }
    }

    /** The Event of occurrence {@code key}, made unless it was made before (by this agent before a restart); its name. */
    private String create(Pod pod, String key, String type, String reason, String message) {
        String uid = pod.getMetadata().getUid();
        String namespace = pod.getMetadata().getNamespace();
        String now = Instant.now().toString();
        String name = pod.getMetadata().getName() + "." + (uid == null ? "x" : uid.substring(0, Math.min(8, uid.length()))) + "."
                + key.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9.-]", "-");
        // Created outright, one call: the name exists already only when this agent made it before a
        // restart (a look first doubled the calls of a burst of new pods).
        try {
            k8s.v1().events().inNamespace(namespace).resource(new EventBuilder()
                    .withNewMetadata().withName(name).withNamespace(namespace).endMetadata()
                    .withInvolvedObject(new ObjectReferenceBuilder().withKind("Pod").withApiVersion("v1")
                            .withName(pod.getMetadata().getName()).withNamespace(namespace).withUid(uid).build())
                    .withType(type).withReason(reason).withMessage(message).withCount(1)
                    .withFirstTimestamp(now).withLastTimestamp(now)
                    .withNewSource().withComponent("gpufleet-tenant-agent").withHost(nodeName).endSource()
                    .build()).create();
        } catch (KubernetesClientException e) {
            if (e.getCode() != 409) {
                throw e;
            }
        }
        return name;
    }

    /** Counts one more of the Event {@code name}; false when it is gone (expired, deleted), to record it anew. */
    private boolean counted(String namespace, String name) {
        String now = Instant.now().toString();
        try {
            Event e = k8s.v1().events().inNamespace(namespace).withName(name).edit(x -> {
                x.setCount((x.getCount() == null ? 1 : x.getCount()) + 1);
                x.setLastTimestamp(now);
                return x;
            });
            return e != null;
        } catch (KubernetesClientException e) {
            if (e.getCode() == 404) {
                return false;
            }
            throw e;
        }
    }
}
