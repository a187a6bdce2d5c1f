package gpufleet.host.workload;

import gpufleet.common.api.WorkloadSpec;
import gpufleet.host.runtime.Observed;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;

/**
 * The part of a container's definition that may change while its pod runs (its image: the only
 * container field the API server lets a pod update), kept on the container as a label. A container
 * whose label no longer matches its spec is replaced, as the kubelet replaces a container whose
 * definition's hash changed. Volume contents are not in it: they change in place.
 */
final class ContainerHash {
    static final String LABEL = "org.gpufleet.spec-hash";

    private ContainerHash() {}

    static String of(WorkloadSpec.Container c) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(c.image().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static Map<String, String> labelled(Map<String, String> labels, WorkloadSpec.Container c) {
        Map<String, String> out = new HashMap<>(labels);
        out.put(LABEL, of(c));
        return out;
    }

    /** Whether the container runs another definition than {@code c}; one made before the label existed ran the only one there was. */
    static boolean changed(Observed o, WorkloadSpec.Container c) {
        String hash = o.label(LABEL);
        return hash != null && !hash.equals(of(c));
    }
}
