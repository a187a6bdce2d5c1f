package gpufleet.host.workload;

import gpufleet.common.api.HostWorkload;
import gpufleet.common.api.PodSettings;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.host.runtime.Plan;
import gpufleet.host.runtime.RuntimeFailure;
import java.util.ArrayList;
import java.util.List;

/**
 * A pod's securityContext, hostname and /etc/hosts as the kubelet applies them, turned into what
 * the engine sets on each container and on the pod's sandbox. A container's own securityContext
 * wins over the pod's. Capabilities are checked again here: whatever the control-api sent, a
 * container never gets one beyond Pod Security Baseline's.
 */
final class ContainerSettings {
    /** The cluster domain in the names Kubernetes writes to /etc/hosts; tenants' clusters use the default. */
    static final String CLUSTER_DOMAIN = "cluster.local";
    static final String CONFIG_ERROR = "CreateContainerConfigError";

    private ContainerSettings() {}

    /**
     * What one container runs with. {@code imageUser}: the image's configured user (empty: root),
     * checked against runAsNonRoot with the kubelet's words; {@code sandboxId}: the pod's
     * sandbox, whose IPC namespace (and /dev/shm) every container of the pod shares.
     */
    static Plan.Settings container(HostWorkload w, WorkloadSpec.Container c, String imageUser, String sandboxId,
                                   List<Plan.MemoryVolume> memoryVolumes) throws RuntimeFailure {
        PodSettings.PodSecurity pod = w.spec().securityContext();
        PodSettings.ContainerSecurity own = c.securityContext();
        Long uid = own != null && own.runAsUser() != null ? own.runAsUser() : pod == null ? null : pod.runAsUser();
        Long gid = own != null && own.runAsGroup() != null ? own.runAsGroup() : pod == null ? null : pod.runAsGroup();
        Boolean nonRoot = own != null && own.runAsNonRoot() != null ? own.runAsNonRoot() : pod == null ? null : pod.runAsNonRoot();
        if (Boolean.TRUE.equals(nonRoot)) {
            String refusal = nonRootRefusal(uid, imageUser, w.spec(), c.name());
            if (refusal != null) {
                throw new RuntimeFailure(CONFIG_ERROR, refusal);
            }
        }
        List<String> groups = new ArrayList<>();
        if (pod != null) {
            pod.supplementalGroups().forEach(g -> groups.add(Long.toString(g)));
            if (pod.fsGroup() != null) {
                groups.add(Long.toString(pod.fsGroup())); // the kubelet gives fsGroup to every container
            }
        }
        List<String> add = baseline(c.name(), own == null ? List.of() : own.capabilitiesAdd());
        return new Plan.Settings(user(uid, gid, imageUser), groups, own != null && Boolean.TRUE.equals(own.readOnlyRootFilesystem()),
                add, own == null ? List.of() : own.capabilitiesDrop(), null, null, List.of(), null, "container:" + sandboxId,
                memoryVolumes);
    }

    /** The capabilities to add, refused past Baseline's: a spec decoded here is checked so, yet the host never relies on it. */
    static List<String> baseline(String container, List<String> add) throws RuntimeFailure {
        for (String cap : add) {
            if (!PodSettings.BASELINE_CAPABILITIES.contains(cap)) {
                throw new RuntimeFailure(CONFIG_ERROR, "container " + container + ": capability " + cap
                        + " may not be added on this host (Pod Security Baseline)");
            }
        }
        return add;
    }

    /**
     * The sandbox's: the pod's hostname (spec.hostname, else the pod's name, as the kubelet),
     * its domain with a subdomain, the hostAliases, and a shareable IPC namespace with
     * {@code shmBytes} of /dev/shm (null: the engine's default). Every container joins its
     * network, and with it its hostname and /etc/hosts.
     */
    static Plan.Settings sandbox(WorkloadSpec spec, Long shmBytes, List<Plan.MemoryVolume> memoryVolumes) {
        String hostname = spec.hostname() != null ? spec.hostname() : hostnameOf(spec.name());
        String domain = spec.subdomain() == null ? null : spec.subdomain() + "." + spec.namespace() + ".svc." + CLUSTER_DOMAIN;
        List<String> hosts = new ArrayList<>();
        for (PodSettings.HostAlias a : spec.hostAliases()) {
            a.hostnames().forEach(h -> hosts.add(h + ":" + a.ip()));
        }
        return new Plan.Settings(null, List.of(), false, List.of(), List.of(), hostname, domain, hosts, shmBytes, "shareable",
                memoryVolumes);
    }

    /** A pod name as a hostname: at most 63 characters, without a trailing '-' or '.' (the kubelet's rule). */
    static String hostnameOf(String podName) {
        String h = podName.length() > 63 ? podName.substring(0, 63) : podName;
        return h.replaceAll("[-.]+$", "");
    }

    /** Docker's user field: the runAs ids, or the image's user with the pod's group; null leaves the image's. */
    static String user(Long uid, Long gid, String imageUser) {
        if (uid != null) {
            return gid == null ? Long.toString(uid) : uid + ":" + gid;
        }
        if (gid == null) {
            return null;
        }
        String name = imageUser.isEmpty() ? "0" : imageUser.split(":", 2)[0];
        return name + ":" + gid;
    }

    /** Why a runAsNonRoot container may not start, in the kubelet's words; null when it may. */
    static String nonRootRefusal(Long uid, String imageUser, WorkloadSpec spec, String container) {
        String pod = "\"" + spec.name() + "_" + spec.namespace() + "(" + spec.podUid() + ")\"";
        if (uid != null) {
            return uid == 0 ? "container's runAsUser breaks non-root policy (pod: " + pod + ", container: " + container + ")" : null;
        }
        String user = imageUser.split(":", 2)[0];
        if (user.isEmpty() || user.matches("0+")) {
            return "container has runAsNonRoot and image will run as root (pod: " + pod + ", container: " + container + ")";
        }
        if (!user.matches("[0-9]+")) {
            return "container has runAsNonRoot and image has non-numeric user (" + user + "), cannot verify user is non-root (pod: "
                    + pod + ", container: " + container + ")";
        }
        return null;
    }
}
