package gpufleet.control.support;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Workload requests as the tenant-agent sends them, shaped after the seed's pods. */
public final class Pods {
    private Pods() {}

    public static Map<String, Object> container(String name, int gpus, String cpu, String memory) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("name", name);
        c.put("image", "gpufleet/busybox:test");
        c.put("command", List.of("sleep", "3600"));
        c.put("resources", Map.of("gpus", gpus, "cpu", cpu, "memory", memory));
        return c;
    }

    public static Map<String, Object> pod(String uid, String name, String offering, List<Map<String, Object>> containers) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("podUid", uid);
        p.put("namespace", "default");
        p.put("name", name);
        p.put("offering", offering);
        p.put("containers", new ArrayList<>(containers));
        p.put("restartPolicy", "OnFailure");
        // The containers' first process is often sleep, which ignores SIGTERM: with Kubernetes'
        // 30 s every stop in a test would wait it out. Tests about the grace period set their own.
        p.put("terminationGracePeriodSeconds", 2);
        return p;
    }

    /** The seed's nvidia-smi pod: 1 GPU, cpu 2, memory 16Gi on seeweb-nvidia-1xa6000. */
    public static Map<String, Object> seedPod(String uid) {
        return pod(uid, "nvidia-smi", "seeweb-nvidia-1xa6000", List.of(container("nvidia", 1, "2", "16Gi")));
    }
}
