package gpufleet.host.workload;

import gpufleet.common.api.WorkloadSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The NVIDIA container runtime decides what to mount into a container (which GPUs, which driver
 * libraries, MOFED, GDS, NVSwitch, IMEX channels…) from the container's own environment. The
 * tenant's env and the image's env are both tenant-controlled, so every {@code NVIDIA_*} variable
 * is the agent's: the tenant's are dropped, the ones the runtime reads are set explicitly (a
 * container's env overrides its image's in Docker), and any other the image sets is blanked.
 * docs/host-agent.md lists each with why.
 */
final class NvidiaEnv {
    static final String PREFIX = "NVIDIA_";
    static final String VISIBLE_DEVICES = "NVIDIA_VISIBLE_DEVICES";
    /** Requirements only refuse to start a container; an image's own (CUDA images carry one) stay. */
    static final String REQUIRE_PREFIX = "NVIDIA_REQUIRE_";

    /** What the runtime reads, each at the value that keeps the feature off (NVIDIA Container Toolkit 1.17/1.18). */
    static final Map<String, String> PINNED = pinned();

    private NvidiaEnv() {}

    private static Map<String, String> pinned() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("NVIDIA_DRIVER_CAPABILITIES", "compute,utility");
        m.put("NVIDIA_DISABLE_REQUIRE", "false");
        m.put("NVIDIA_REQUIRE_JETPACK", "");
        m.put("NVIDIA_MIG_CONFIG_DEVICES", "");
        m.put("NVIDIA_MIG_MONITOR_DEVICES", "");
        m.put("NVIDIA_IMEX_CHANNELS", "void");
        m.put("NVIDIA_GDS", "disabled");
        m.put("NVIDIA_MOFED", "disabled");
        m.put("NVIDIA_NVSWITCH", "disabled");
        m.put("NVIDIA_GDRCOPY", "disabled");
        return java.util.Collections.unmodifiableMap(m);
    }

    /** The tenant's variables whose names the agent owns; they never reach the container. */
    static List<String> dropped(List<WorkloadSpec.EnvVar> tenant) {
        return tenant.stream().map(WorkloadSpec.EnvVar::name).filter(NvidiaEnv::owned).distinct().toList();
    }

    /**
     * The container's env: the tenant's own variables, then the pin ({@code gpus} UUIDs, or
     * {@code void} for none), then every pinned feature, then a blank for each other
     * {@code NVIDIA_*} the image sets ({@code imageEnv}: "NAME=value" as Docker reports it).
     */
    static List<String> of(List<WorkloadSpec.EnvVar> tenant, List<String> imageEnv, List<String> gpus) {
        List<String> env = new ArrayList<>();
        for (WorkloadSpec.EnvVar e : tenant) {
            if (!owned(e.name())) {
                env.add(e.name() + "=" + e.value());
            }
        }
        env.add(VISIBLE_DEVICES + "=" + (gpus.isEmpty() ? "void" : String.join(",", gpus)));
        PINNED.forEach((name, value) -> env.add(name + "=" + value));
        imageEnv.stream().map(e -> e.contains("=") ? e.substring(0, e.indexOf('=')) : e)
                .filter(name -> name.startsWith(PREFIX) && !name.equals(VISIBLE_DEVICES) && !PINNED.containsKey(name)
                        && !name.startsWith(REQUIRE_PREFIX))
                .distinct()
                .forEach(name -> env.add(name + "="));
        return env;
    }

    private static boolean owned(String name) {
        return name.startsWith(PREFIX);
    }
}
