package gpufleet.tenant.pod;

import gpufleet.common.api.ContainerStatus;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The Events a host saw and the pod's status cannot show (a probe failed, the host killed a
 * container for it), as the kubelet records them. A probe failure changes nothing in the status
 * while the container stays unready, so these are looked at on every sync, not only when the
 * status moves; each is handed out once per agent process (the recorder's own name check keeps a
 * restarted agent from recording one twice).
 */
final class HostEvents {
    /** Keys handed out, the oldest forgotten first; far more than the Events any host keeps per container. */
    private static final int REMEMBERED = 16_384;

    private final Set<String> seen = Collections.newSetFromMap(new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > REMEMBERED;
        }
    });

    /** The Events of {@code reported} not handed out before for this pod, keyed for the recorder. */
    synchronized List<PodEvents.Event> fresh(String podUid, List<ContainerStatus> reported) {
        List<PodEvents.Event> out = new ArrayList<>();
        for (ContainerStatus c : reported) {
            for (ContainerStatus.Event e : c.events()) {
                String key = "host." + c.name() + "." + e.key();
                if (seen.add(podUid + "/" + key)) {
                    out.add(new PodEvents.Event(key, e.type(), e.reason(), e.message()));
                }
            }
        }
        return out;
    }
}
