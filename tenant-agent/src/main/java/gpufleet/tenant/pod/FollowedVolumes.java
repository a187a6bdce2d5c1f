package gpufleet.tenant.pod;

import gpufleet.common.api.WorkloadSpec;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeProjection;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which running pods' volume files may have changed, and what was last sent for each. As on a
 * kubelet, a pod's ConfigMap, Secret, projected and downwardAPI volumes follow their objects: a
 * change of a ConfigMap or Secret a pod references (or of the pod's labels and annotations) marks
 * it stale; its next sync resolves the files again and sends them when they differ from the last
 * sent. What a create sent is not taken as sent (the provider may have had the pod already, with
 * older files, when the agent's view of it was stale), so each such pod is resolved and sent once
 * after its workload is seen, as after an agent restart: the same files again change nothing.
 */
final class FollowedVolumes {
    /** A digest of the volume files last sent, by pod UID. */
    private final Map<String, String> sent = new ConcurrentHashMap<>();
    private final Set<String> stale = ConcurrentHashMap.newKeySet();

    /** Marks the pod's files as possibly changed. */
    void stale(String uid) {
        stale.add(uid);
    }

    /** Whether the pod's files should be resolved again now (taking its stale mark). */
    boolean due(Pod pod) {
        String uid = pod.getMetadata().getUid();
        return hasVolumes(pod) && (stale.remove(uid) || !sent.containsKey(uid));
    }

    /** Records the files of a spec sent. */
    void sent(WorkloadSpec spec) {
        sent.put(spec.podUid(), digest(spec));
    }

    /** Whether the files of {@code spec} are those last sent. */
    boolean same(WorkloadSpec spec) {
        return digest(spec).equals(sent.get(spec.podUid()));
    }

    void forget(String uid) {
        sent.remove(uid);
        stale.remove(uid);
    }

    /** Whether the pod has a volume whose files a kubelet keeps following. */
    static boolean hasVolumes(Pod pod) {
        return volumes(pod).stream().anyMatch(v -> v.getConfigMap() != null || v.getSecret() != null || v.getProjected() != null
                || v.getDownwardAPI() != null);
    }

    /** Whether the pod has a volume from the ConfigMap ({@code secret} false) or Secret named {@code name}. */
    static boolean references(Pod pod, boolean secret, String name) {
        for (Volume v : volumes(pod)) {
            if (!secret && v.getConfigMap() != null && name.equals(v.getConfigMap().getName())
                    || secret && v.getSecret() != null && name.equals(v.getSecret().getSecretName())) {
                return true;
            }
            List<VolumeProjection> sources = v.getProjected() == null || v.getProjected().getSources() == null ? List.of()
                    : v.getProjected().getSources();
            for (VolumeProjection p : sources) {
                if (!secret && p.getConfigMap() != null && name.equals(p.getConfigMap().getName())
                        || secret && p.getSecret() != null && name.equals(p.getSecret().getName())) {
                    return true;
                }
            }
        }
        return false;
    }

    private static List<Volume> volumes(Pod pod) {
        return pod.getSpec() == null || pod.getSpec().getVolumes() == null ? List.of() : pod.getSpec().getVolumes();
    }

    /** The volume files of every container, digested: what a change is told by. */
    static String digest(WorkloadSpec spec) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            for (WorkloadSpec.Container c : spec.allContainers()) {
                d.update((c.name() + "\0").getBytes(StandardCharsets.UTF_8));
                for (WorkloadSpec.FileMount f : c.files()) {
                    if (f.volume() != null) {
                        d.update((f.path() + "\0" + f.mode() + "\0" + f.contentBase64() + "\0").getBytes(StandardCharsets.UTF_8));
                    }
                }
            }
            return HexFormat.of().formatHex(d.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
