package gpufleet.common.api;

import gpufleet.common.Invalid;
import gpufleet.common.Names;
import gpufleet.common.Quantity;
import java.util.List;
import java.util.Set;

/**
 * The pod and container settings a kubelet applies beyond image, command and resources: users
 * and groups, the root filesystem, capabilities, emptyDir volumes and where they are mounted,
 * the hostname and /etc/hosts entries. Checked here by Kubernetes' rules (and Baseline's, for
 * capabilities) and again where the host makes the container.
 */
public final class PodSettings {
    /** Pod Security Baseline's allowed additions: anything else is refused before it reaches a host. */
    public static final Set<String> BASELINE_CAPABILITIES = Set.of("AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID",
            "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT");
    /** Ids as the API server takes them: 0..2^31-1. */
    private static final long MAX_ID = Integer.MAX_VALUE;

    private PodSettings() {}

    /** spec.securityContext: applies to every container that does not say otherwise. */
    public record PodSecurity(Long runAsUser, Long runAsGroup, Boolean runAsNonRoot, Long fsGroup, List<Long> supplementalGroups) {
        public PodSecurity {
            id(runAsUser, "securityContext.runAsUser");
            id(runAsGroup, "securityContext.runAsGroup");
            id(fsGroup, "securityContext.fsGroup");
            supplementalGroups = supplementalGroups == null ? List.of() : List.copyOf(supplementalGroups);
            Invalid.check(supplementalGroups.size() <= 32, "securityContext.supplementalGroups", "at most 32 supplementalGroups");
            supplementalGroups.forEach(g -> id(g, "securityContext.supplementalGroups"));
        }
    }

    /**
     * A container's securityContext. {@code capabilitiesAdd}/{@code capabilitiesDrop}: names
     * without the CAP_ prefix, upper case ("ALL" may be dropped).
     */
    public record ContainerSecurity(Long runAsUser, Long runAsGroup, Boolean runAsNonRoot, Boolean readOnlyRootFilesystem,
                                    Boolean allowPrivilegeEscalation, List<String> capabilitiesAdd, List<String> capabilitiesDrop) {
        public ContainerSecurity {
            id(runAsUser, "securityContext.runAsUser");
            id(runAsGroup, "securityContext.runAsGroup");
            capabilitiesAdd = capabilitiesAdd == null ? List.of() : List.copyOf(capabilitiesAdd);
            capabilitiesDrop = capabilitiesDrop == null ? List.of() : List.copyOf(capabilitiesDrop);
            for (String c : capabilitiesAdd) {
                Invalid.check(BASELINE_CAPABILITIES.contains(c), "securityContext.capabilities.add", "capability '" + c
                        + "' may not be added (Pod Security Baseline allows " + String.join(", ", BASELINE_CAPABILITIES.stream().sorted().toList()) + ")");
            }
            for (String c : capabilitiesDrop) {
                Invalid.check(c.equals("ALL") || c.matches("[A-Z_]{1,32}"), "securityContext.capabilities.drop",
                        "capability '" + c + "' is not a capability name");
            }
        }
    }

    /** An emptyDir volume: on the host's disk, or in memory (tmpfs) when {@code medium} is Memory. */
    public record Volume(String name, String medium, String sizeLimit) {
        public Volume {
            Names.label(name, "volumes.name", 63);
            medium = medium == null ? "" : medium;
            Invalid.check(medium.isEmpty() || medium.equals("Memory"), "volumes.emptyDir.medium",
                    "emptyDir.medium must be empty or Memory, got '" + medium + "'");
            if (sizeLimit != null) {
                long bytes = Quantity.bytes(sizeLimit, "emptyDir.sizeLimit");
                Invalid.check(bytes > 0 && bytes <= WorkloadSpec.Resources.MAX_MEMORY_BYTES, "volumes.emptyDir.sizeLimit",
                        "emptyDir.sizeLimit must be more than 0 and at most 64Ti");
            }
        }

        /** The size limit in bytes; null when none was set. */
        public Long sizeLimitBytes() {
            return sizeLimit == null ? null : Quantity.bytes(sizeLimit, "emptyDir.sizeLimit");
        }
    }

    /** Where a container mounts one of the pod's emptyDir volumes. */
    public record VolumeMount(String name, String mountPath, Boolean readOnly, String subPath) {
        public VolumeMount {
            Names.label(name, "volumeMounts.name", 63);
            Invalid.requiredText(mountPath, "volumeMounts.mountPath", 1024);
            Invalid.check(mountPath.startsWith("/") && !List.of(mountPath.split("/")).contains(".."), "volumeMounts.mountPath",
                    "volumeMounts.mountPath '" + mountPath + "' must be absolute, without '..'");
            Invalid.check(!mountPath.equals("/") && !under(mountPath, "/proc") && !under(mountPath, "/sys")
                    && (!under(mountPath, "/dev") || mountPath.equals("/dev/shm")), "volumeMounts.mountPath",
                    "volumeMounts.mountPath '" + mountPath + "' is where volumes cannot be mounted (/, /proc, /sys, /dev other than /dev/shm)");
            readOnly = readOnly != null && readOnly;
            Invalid.check(subPath == null || !subPath.startsWith("/") && !List.of(subPath.split("/")).contains("..")
                    && subPath.length() <= 1024, "volumeMounts.subPath", "volumeMounts.subPath must be relative, without '..'");
        }

        private static boolean under(String path, String tree) {
            return path.equals(tree) || path.startsWith(tree + "/");
        }
    }

    /** One /etc/hosts entry (spec.hostAliases). */
    public record HostAlias(String ip, List<String> hostnames) {
        public HostAlias {
            Invalid.requiredText(ip, "hostAliases.ip", 45);
            Invalid.check(ip.matches("[0-9a-fA-F:.]+"), "hostAliases.ip", "hostAliases.ip '" + ip + "' must be an IP address");
            Invalid.required(hostnames, "hostAliases.hostnames");
            hostnames = List.copyOf(hostnames);
            Invalid.check(!hostnames.isEmpty() && hostnames.size() <= 64, "hostAliases.hostnames", "1 to 64 hostnames per alias");
            hostnames.forEach(h -> Names.subdomain(h, "hostAliases.hostnames"));
        }
    }

    private static void id(Long value, String field) {
        Invalid.check(value == null || value >= 0 && value <= MAX_ID, field, field + " must be 0.." + MAX_ID + ", got " + value);
    }
}
