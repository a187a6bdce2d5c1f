package gpufleet.tenant.pod;

import gpufleet.common.api.PodSettings;
import io.fabric8.kubernetes.api.model.Capabilities;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A pod's securityContext, emptyDir volumes and /etc/hosts entries as the provider's spec carries
 * them. ConfigMap, Secret, projected and downwardAPI volumes travel as files (see
 * {@link PodResolver}); only emptyDir volumes and their mounts are volumes on the host.
 */
final class PodSettingsFields {
    private PodSettingsFields() {}

    static PodSettings.PodSecurity podSecurity(PodSpec spec) {
        PodSecurityContext sc = spec.getSecurityContext();
        if (sc == null) {
            return null;
        }
        return new PodSettings.PodSecurity(sc.getRunAsUser(), sc.getRunAsGroup(), sc.getRunAsNonRoot(), sc.getFsGroup(),
                sc.getSupplementalGroups());
    }

    static PodSettings.ContainerSecurity containerSecurity(Container c) {
        SecurityContext sc = c.getSecurityContext();
        if (sc == null) {
            return null;
        }
        Capabilities caps = sc.getCapabilities();
        return new PodSettings.ContainerSecurity(sc.getRunAsUser(), sc.getRunAsGroup(), sc.getRunAsNonRoot(),
                sc.getReadOnlyRootFilesystem(), sc.getAllowPrivilegeEscalation(), names(caps == null ? null : caps.getAdd()),
                names(caps == null ? null : caps.getDrop()));
    }

    /** The pod's emptyDir volumes. */
    static List<PodSettings.Volume> emptyDirs(PodSpec spec) {
        List<Volume> volumes = spec.getVolumes() == null ? List.of() : spec.getVolumes();
        return volumes.stream().filter(v -> v.getEmptyDir() != null).map(v -> new PodSettings.Volume(v.getName(),
                v.getEmptyDir().getMedium(), v.getEmptyDir().getSizeLimit() == null ? null : v.getEmptyDir().getSizeLimit().toString()))
                .toList();
    }

    /** The container's mounts of the pod's emptyDir volumes; its other mounts are files. */
    static List<PodSettings.VolumeMount> emptyDirMounts(PodSpec spec, Container c) {
        Set<String> emptyDirs = emptyDirs(spec).stream().map(PodSettings.Volume::name).collect(Collectors.toSet());
        List<VolumeMount> mounts = c.getVolumeMounts() == null ? List.of() : c.getVolumeMounts();
        return mounts.stream().filter(m -> emptyDirs.contains(m.getName()))
                .map(m -> new PodSettings.VolumeMount(m.getName(), m.getMountPath(), m.getReadOnly(), m.getSubPath())).toList();
    }

    static List<PodSettings.HostAlias> hostAliases(PodSpec spec) {
        return spec.getHostAliases() == null ? List.of() : spec.getHostAliases().stream()
                .map(a -> new PodSettings.HostAlias(a.getIp(), a.getHostnames())).toList();
    }

    /** Capability names as the runtime takes them: upper case, without CAP_ (both spellings are seen in pod specs). */
    private static List<String> names(List<String> caps) {
        return caps == null ? null : caps.stream().map(n -> n.toUpperCase(Locale.ROOT).replaceFirst("^CAP_", "")).toList();
    }
}
