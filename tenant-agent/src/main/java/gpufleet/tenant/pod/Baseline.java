package gpufleet.tenant.pod;

import io.fabric8.kubernetes.api.model.Capabilities;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EphemeralContainer;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.SELinuxOptions;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Sysctl;
import io.fabric8.kubernetes.api.model.Volume;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The Pod Security Standards "baseline" profile, control by control, over every container of the
 * pod (init and ephemeral ones included). Returns the first violation in words, or null. GPU Fleet's
 * own rules (storage, fields not honoured yet) are {@link PodFields}, worded as its own.
 */
public final class Baseline {
    static final Set<String> ALLOWED_CAPABILITIES = Set.of("AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL",
            "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT");
    static final Set<String> SAFE_SYSCTLS = Set.of("kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range",
            "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range",
            "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
            "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes");
    static final Set<String> SELINUX_TYPES = Set.of("", "container_t", "container_init_t", "container_kvm_t", "container_engine_t");

    private Baseline() {}

    public static String violation(Pod pod) {
        var spec = pod.getSpec();
        if (Boolean.TRUE.equals(spec.getHostNetwork()) || Boolean.TRUE.equals(spec.getHostPID()) || Boolean.TRUE.equals(spec.getHostIPC())) {
            return "host namespaces (hostNetwork, hostPID and hostIPC must not be true)";
        }
        for (Volume v : spec.getVolumes() == null ? List.<Volume>of() : spec.getVolumes()) {
            if (v.getHostPath() != null) {
                return "hostPath volumes (volume \"" + v.getName() + "\" mounts a path of the node)";
            }
        }
        PodSecurityContext psc = spec.getSecurityContext();
        if (psc != null) {
            String p = context("pod", psc.getSeLinuxOptions(), psc.getSeccompProfile() == null ? null : psc.getSeccompProfile().getType(),
                    psc.getWindowsOptions() != null && Boolean.TRUE.equals(psc.getWindowsOptions().getHostProcess()),
                    psc.getAppArmorProfile() == null ? null : psc.getAppArmorProfile().getType());
            if (p != null) {
                return p;
            }
            for (Sysctl s : psc.getSysctls() == null ? List.<Sysctl>of() : psc.getSysctls()) {
                if (!SAFE_SYSCTLS.contains(s.getName())) {
                    return "sysctls (\"" + s.getName() + "\" is not a safe sysctl)";
                }
            }
        }
        Map<String, String> annotations = pod.getMetadata().getAnnotations() == null ? Map.of() : pod.getMetadata().getAnnotations();
        for (var a : annotations.entrySet()) {
            if (a.getKey().startsWith("container.apparmor.security.beta.kubernetes.io/")
                    && !a.getValue().equals("runtime/default") && !a.getValue().startsWith("localhost/")) {
                return "AppArmor (annotation " + a.getKey() + "=" + a.getValue() + " must be runtime/default or localhost/*)";
            }
        }
        List<Container> all = new ArrayList<>(spec.getContainers());
        if (spec.getInitContainers() != null) {
            all.addAll(spec.getInitContainers());
        }
        for (Container c : all) {
            String v = container("container \"" + c.getName() + "\"", c.getPorts(), c.getSecurityContext());
            if (v != null) {
                return v;
            }
        }
        for (EphemeralContainer e : spec.getEphemeralContainers() == null ? List.<EphemeralContainer>of() : spec.getEphemeralContainers()) {
            String v = ephemeral(e);
            if (v != null) {
                return v;
            }
        }
        return null;
    }

    /**
     * The profile's controls on one ephemeral container (kubectl debug's), which the standard covers
     * as it covers the others; null when it passes.
     */
    public static String ephemeral(EphemeralContainer e) {
        return container("ephemeral container \"" + e.getName() + "\"", e.getPorts(), e.getSecurityContext());
    }

    private static String container(String who, List<ContainerPort> ports, SecurityContext sc) {
        for (ContainerPort p : ports == null ? List.<ContainerPort>of() : ports) {
            if (p.getHostPort() != null && p.getHostPort() != 0) {
                return "hostPort (" + who + " uses hostPort " + p.getHostPort() + ")";
            }
        }
        if (sc == null) {
            return null;
        }
        if (Boolean.TRUE.equals(sc.getPrivileged())) {
            return "privileged (" + who + " must not set securityContext.privileged=true)";
        }
        Capabilities caps = sc.getCapabilities();
        if (caps != null && caps.getAdd() != null) {
            for (String cap : caps.getAdd()) {
                if (!ALLOWED_CAPABILITIES.contains(cap.replaceFirst("^CAP_", ""))) {
                    return "capabilities (" + who + " must not add \"" + cap + "\")";
                }
            }
        }
        if (sc.getProcMount() != null && !sc.getProcMount().equals("Default")) {
            return "procMount (" + who + " must use procMount Default)";
        }
        return context(who, sc.getSeLinuxOptions(), sc.getSeccompProfile() == null ? null : sc.getSeccompProfile().getType(),
                sc.getWindowsOptions() != null && Boolean.TRUE.equals(sc.getWindowsOptions().getHostProcess()),
                sc.getAppArmorProfile() == null ? null : sc.getAppArmorProfile().getType());
    }

    private static String context(String who, SELinuxOptions se, String seccomp, boolean hostProcess, String appArmor) {
        if (hostProcess) {
            return "HostProcess (" + who + " must not run as a Windows HostProcess)";
        }
        if ("Unconfined".equals(seccomp)) {
            return "seccompProfile (" + who + " must not set seccompProfile.type Unconfined)";
        }
        if ("Unconfined".equals(appArmor)) {
            return "AppArmor (" + who + " must not set appArmorProfile.type Unconfined)";
        }
        if (se != null && (!SELINUX_TYPES.contains(se.getType() == null ? "" : se.getType()) || se.getUser() != null || se.getRole() != null)) {
            return "seLinuxOptions (" + who + " sets a forbidden SELinux user, role or type)";
        }
        return null;
    }
}
