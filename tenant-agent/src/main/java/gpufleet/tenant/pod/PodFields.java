package gpufleet.tenant.pod;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.stream.Stream;

/**
 * GPU Fleet's own rules on a pod spec, apart from Pod Security: the fields a kubelet honours that
 * k8s.gpu does not honour yet. Where ignoring one would break the pod's security or correctness
 * (a non-root pod run as root, init containers skipped, a volume that is not there) the pod is
 * refused naming the field; where a pod still runs as written, only less watched (hooks),
 * the field is ignored and the tenant told so in a Warning Event. docs/tenants.md keeps the table.
 */
final class PodFields {
    /** What the walk found: the fields that refuse the pod and the fields ignored, by path. */
    record Verdict(List<String> refused, List<String> ignored) {
        /** One sentence for the pod's condition and Event; null when nothing refuses the pod. */
        String refusal() {
            return refused.isEmpty() ? null : String.join("; ", refused);
        }

        String ignoredMessage() {
            return ignored.isEmpty() ? null : "ignored on k8s.gpu (not supported yet; the pod runs without them): "
                    + String.join(", ", ignored);
        }
    }

    private final List<String> refused = new ArrayList<>();
    private final List<String> ignored = new ArrayList<>();

    private PodFields() {}

    static Verdict check(Pod pod) {
        PodFields f = new PodFields();
        PodSpec spec = pod.getSpec();
        f.refuseIf(Boolean.TRUE.equals(spec.getSetHostnameAsFQDN()), "spec.setHostnameAsFQDN",
                "the hostname is the pod's short name; the full one is in /etc/hosts");
        f.refuseIf(Boolean.TRUE.equals(spec.getShareProcessNamespace()), "spec.shareProcessNamespace",
                "containers would not see each other's processes");
        f.refuseIf(Boolean.FALSE.equals(spec.getHostUsers()), "spec.hostUsers", "no user namespace would be made");
        f.refuseIf(spec.getDnsConfig() != null, "spec.dnsConfig", "the host's resolver would answer instead");
        f.refuseIf(spec.getOs() != null && !"linux".equals(spec.getOs().getName()), "spec.os.name", "k8s.gpu runs Linux containers");
        f.refuseIf(!empty(spec.getResourceClaims()), "spec.resourceClaims", "no claimed device would be attached");
        f.refuseIf(spec.getResources() != null, "spec.resources", "pod-level limits would not be applied");
        f.ignoreIf(!empty(spec.getReadinessGates()), "spec.readinessGates");
        f.podSecurity(spec.getSecurityContext());
        f.volumes(spec);
        List<Container> containers = spec.getContainers();
        for (int i = 0; i < containers.size(); i++) {
            f.container("spec.containers[" + i + "]", containers.get(i), false);
        }
        List<Container> inits = spec.getInitContainers() == null ? List.of() : spec.getInitContainers();
        for (int i = 0; i < inits.size(); i++) {
            f.container("spec.initContainers[" + i + "]", inits.get(i), true);
        }
        return new Verdict(List.copyOf(f.refused), List.copyOf(f.ignored));
    }

    private void podSecurity(PodSecurityContext sc) {
        if (sc == null) {
            return;
        }
        String at = "spec.securityContext.";
        refuseIf("Strict".equals(sc.getSupplementalGroupsPolicy()), at + "supplementalGroupsPolicy",
                "the image's /etc/group memberships would still be given");
        refuseIf(sc.getSeLinuxOptions() != null || sc.getSeLinuxChangePolicy() != null, at + "seLinuxOptions", "no label would be set");
        refuseIf(!empty(sc.getSysctls()), at + "sysctls", "the sysctls would not be set");
        refuseIf(sc.getSeccompProfile() != null && "Localhost".equals(sc.getSeccompProfile().getType()),
                at + "seccompProfile", "only RuntimeDefault (Docker's profile) is applied");
        refuseIf(sc.getAppArmorProfile() != null && "Localhost".equals(sc.getAppArmorProfile().getType()),
                at + "appArmorProfile", "only RuntimeDefault (Docker's profile) is applied");
    }

    private void volumes(PodSpec spec) {
        List<Volume> volumes = spec.getVolumes() == null ? List.of() : spec.getVolumes();
        for (int i = 0; i < volumes.size(); i++) {
            Volume v = volumes.get(i);
            String at = "spec.volumes[" + i + "] (\"" + v.getName() + "\")";
            if (v.getPersistentVolumeClaim() != null) {
                refused.add(at + ".persistentVolumeClaim is not supported on k8s.gpu: its pods run at the GPU provider and "
                        + "cannot mount the cluster's storage (GPU Fleet's rule, not a Pod Security control)");
            } else if (v.getEmptyDir() != null) {
                refuseIf("Memory".equals(v.getEmptyDir().getMedium()) && subPathOf(spec, v.getName()), at + ".emptyDir with subPath",
                        "a memory emptyDir is mounted whole");
            } else if (v.getConfigMap() == null && v.getSecret() == null && v.getProjected() == null && v.getDownwardAPI() == null
                    && v.getHostPath() == null) {
                refused.add(at + " is not supported on k8s.gpu yet: only configMap, secret, projected, downwardAPI and emptyDir "
                        + "volumes are");
            }
        }
    }

    /** Whether any container mounts the volume with a subPath. */
    private static boolean subPathOf(PodSpec spec, String volume) {
        List<Container> all = new ArrayList<>(spec.getContainers());
        if (spec.getInitContainers() != null) {
            all.addAll(spec.getInitContainers());
        }
        return all.stream().flatMap(c -> c.getVolumeMounts() == null ? Stream.<VolumeMount>empty()
                : c.getVolumeMounts().stream()).anyMatch(m -> volume.equals(m.getName()) && m.getSubPath() != null
                && !m.getSubPath().isEmpty());
    }

    /** {@code init}: an init container, which may be a sidecar (restartPolicy Always; the provider's spec refuses any other). */
    private void container(String at, Container c, boolean init) {
        probe(at + ".livenessProbe", c.getLivenessProbe());
        probe(at + ".readinessProbe", c.getReadinessProbe());
        probe(at + ".startupProbe", c.getStartupProbe());
        ignoreIf(Boolean.TRUE.equals(c.getStdinOnce()), at + ".stdinOnce");
        ignoreIf(!empty(c.getResizePolicy()), at + ".resizePolicy");
        ignoreIf(c.getTerminationMessagePath() != null && !"/dev/termination-log".equals(c.getTerminationMessagePath()),
                at + ".terminationMessagePath");
        ignoreIf(c.getTerminationMessagePolicy() != null && !"File".equals(c.getTerminationMessagePolicy()),
                at + ".terminationMessagePolicy");
        refuseIf(!init && c.getRestartPolicy() != null, at + ".restartPolicy", "sidecar containers are init containers");
        refuseIf(!empty(c.getVolumeDevices()), at + ".volumeDevices", "no block device would be attached");
        refuseIf(c.getResources() != null && !empty(c.getResources().getClaims()), at + ".resources.claims",
                "no claimed device would be attached");
        List<VolumeMount> mounts = c.getVolumeMounts() == null ? List.of() : c.getVolumeMounts();
        for (int j = 0; j < mounts.size(); j++) {
            VolumeMount m = mounts.get(j);
            refuseIf(m.getSubPathExpr() != null, at + ".volumeMounts[" + j + "].subPathExpr", "it would not be expanded");
            refuseIf(m.getMountPropagation() != null && !"None".equals(m.getMountPropagation()),
                    at + ".volumeMounts[" + j + "].mountPropagation", "mounts are not propagated");
        }
        containerSecurity(at + ".securityContext.", c.getSecurityContext());
    }

    /** A probe reaches the pod's own address only, over exec, HTTP(S), TCP or gRPC. */
    private void probe(String at, Probe p) {
        if (p == null) {
            return;
        }
        refuseIf(p.getHttpGet() != null && p.getHttpGet().getHost() != null && !p.getHttpGet().getHost().isEmpty(),
                at + ".httpGet.host", "a probe reaches the pod's own address only");
        refuseIf(p.getTcpSocket() != null && p.getTcpSocket().getHost() != null && !p.getTcpSocket().getHost().isEmpty(),
                at + ".tcpSocket.host", "a probe reaches the pod's own address only");
    }

    private void containerSecurity(String at, SecurityContext sc) {
        if (sc == null) {
            return;
        }
        refuseIf(sc.getSeLinuxOptions() != null, at + "seLinuxOptions", "no label would be set");
        refuseIf(sc.getSeccompProfile() != null && "Localhost".equals(sc.getSeccompProfile().getType()),
                at + "seccompProfile", "only RuntimeDefault (Docker's profile) is applied");
        refuseIf(sc.getAppArmorProfile() != null && "Localhost".equals(sc.getAppArmorProfile().getType()),
                at + "appArmorProfile", "only RuntimeDefault (Docker's profile) is applied");
        // no-new-privileges is set on every container: asking for escalation gets none, which the tenant is told.
        ignoreIf(Boolean.TRUE.equals(sc.getAllowPrivilegeEscalation()), at + "allowPrivilegeEscalation");
    }

    private void refuseIf(boolean set, String field, String otherwise) {
        if (set) {
            refused.add(field + " is not supported on k8s.gpu yet (" + otherwise + ")");
        }
    }

    private void ignoreIf(boolean set, String field) {
        if (set) {
            ignored.add(field);
        }
    }

    private static boolean empty(Collection<?> c) {
        return c == null || c.isEmpty();
    }
}
