package gpufleet.host.runtime;

import gpufleet.common.api.WorkloadSpec;
import java.util.List;

/** Which of a pod's pull secrets is for an image. */
public final class PullSecrets {
    private PullSecrets() {}

    /**
     * The pull secret for the image's registry, or null. An image that names no registry (the
     * engine's default one) takes the only secret given, if there is exactly one.
     */
    public static WorkloadSpec.PullSecret forImage(String image, List<WorkloadSpec.PullSecret> credentials) {
        String first = image.contains("/") ? image.substring(0, image.indexOf('/')) : "";
        boolean qualified = first.contains(".") || first.contains(":") || first.equals("localhost");
        for (WorkloadSpec.PullSecret s : credentials) {
            String host = s.registry().replaceFirst("^https?://", "").replaceFirst("/.*$", "");
            if ((qualified && host.equals(first)) || (!qualified && credentials.size() == 1)) {
                return s;
            }
        }
        return null;
    }
}
