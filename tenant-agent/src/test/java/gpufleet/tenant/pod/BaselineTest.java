package gpufleet.tenant.pod;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodSpecBuilder;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/** Every control of the Pod Security Standards baseline profile, one pod each, and a clean pod that passes. */
class BaselineTest {
    private static Pod pod(UnaryOperator<PodSpecBuilder> spec, UnaryOperator<ContainerBuilder> container) {
        ContainerBuilder c = container.apply(new ContainerBuilder().withName("main").withImage("busybox"));
        return new PodBuilder().withNewMetadata().withName("p").withNamespace("default").endMetadata()
                .withSpec(spec.apply(new PodSpecBuilder().withContainers(c.build())).build()).build();
    }

    static Stream<Arguments> violations() {
        UnaryOperator<PodSpecBuilder> noSpec = s -> s;
        UnaryOperator<ContainerBuilder> noContainer = c -> c;
        return Stream.of(
                Arguments.of("hostNetwork", pod(s -> s.withHostNetwork(true), noContainer), "host namespaces"),
                Arguments.of("hostPID", pod(s -> s.withHostPID(true), noContainer), "host namespaces"),
                Arguments.of("hostIPC", pod(s -> s.withHostIPC(true), noContainer), "host namespaces"),
                Arguments.of("privileged", pod(noSpec, c -> c.withNewSecurityContext().withPrivileged(true).endSecurityContext()),
                        "privileged (container \"main\""),
                Arguments.of("capabilities", pod(noSpec, c -> c.withNewSecurityContext().withNewCapabilities().addToAdd("SYS_ADMIN")
                        .endCapabilities().endSecurityContext()), "capabilities (container \"main\" must not add \"SYS_ADMIN\")"),
                Arguments.of("hostPath", pod(s -> s.addNewVolume().withName("v").withNewHostPath().withPath("/").endHostPath().endVolume(),
                        noContainer), "hostPath volumes"),
                Arguments.of("privileged ephemeral container", pod(s -> s.addNewEphemeralContainer().withName("debugger")
                        .withImage("busybox").withNewSecurityContext().withPrivileged(true).endSecurityContext()
                        .endEphemeralContainer(), noContainer), "privileged (ephemeral container \"debugger\""),
                Arguments.of("SYS_ADMIN ephemeral container", pod(s -> s.addNewEphemeralContainer().withName("debugger")
                        .withImage("busybox").withNewSecurityContext().withNewCapabilities().addToAdd("SYS_ADMIN").endCapabilities()
                        .endSecurityContext().endEphemeralContainer(), noContainer),
                        "capabilities (ephemeral container \"debugger\" must not add \"SYS_ADMIN\")"),
                Arguments.of("hostPort", pod(noSpec, c -> c.addNewPort().withContainerPort(80).withHostPort(80).endPort()),
                        "hostPort (container \"main\" uses hostPort 80)"),
                Arguments.of("procMount", pod(noSpec, c -> c.withNewSecurityContext().withProcMount("Unmasked").endSecurityContext()),
                        "procMount"),
                Arguments.of("seccomp", pod(noSpec, c -> c.withNewSecurityContext().withNewSeccompProfile().withType("Unconfined")
                        .endSeccompProfile().endSecurityContext()), "seccompProfile"),
                Arguments.of("seccomp on the pod", pod(s -> s.withNewSecurityContext().withNewSeccompProfile().withType("Unconfined")
                        .endSeccompProfile().endSecurityContext(), noContainer), "seccompProfile (pod"),
                Arguments.of("AppArmor", pod(noSpec, c -> c.withNewSecurityContext().withNewAppArmorProfile().withType("Unconfined")
                        .endAppArmorProfile().endSecurityContext()), "AppArmor"),
                Arguments.of("SELinux", pod(noSpec, c -> c.withNewSecurityContext().withNewSeLinuxOptions().withType("spc_t")
                        .endSeLinuxOptions().endSecurityContext()), "seLinuxOptions"),
                Arguments.of("sysctls", pod(s -> s.withNewSecurityContext().addNewSysctl().withName("kernel.msgmax").withValue("1")
                        .endSysctl().endSecurityContext(), noContainer), "sysctls (\"kernel.msgmax\""),
                Arguments.of("HostProcess", pod(noSpec, c -> c.withNewSecurityContext().withNewWindowsOptions().withHostProcess(true)
                        .endWindowsOptions().endSecurityContext()), "HostProcess"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("violations")
    void eachBaselineControlIsEnforcedWithItsReason(String control, Pod pod, String reason) {
        assertThat(Baseline.violation(pod)).as(control).isNotNull().contains(reason);
    }

    @Test
    void theAppArmorAnnotationIsChecked() {
        Pod p = pod(s -> s, c -> c);
        p.getMetadata().setAnnotations(java.util.Map.of("container.apparmor.security.beta.kubernetes.io/main", "unconfined"));
        assertThat(Baseline.violation(p)).contains("AppArmor (annotation");
    }

    @Test
    void aPersistentVolumeClaimIsNoBaselineControl() {
        // Refused all the same, by GPU Fleet's own rule (PodFieldsTest), never in Pod Security's name.
        Pod pvc = pod(s -> s.addNewVolume().withName("v").withNewPersistentVolumeClaim().withClaimName("c")
                .endPersistentVolumeClaim().endVolume(), c -> c);
        assertThat(Baseline.violation(pvc)).isNull();
    }

    @Test
    void whatBaselineAllowsPasses() {
        Pod ok = pod(s -> s.withNewSecurityContext().addNewSysctl().withName("net.ipv4.ip_local_port_range").withValue("1024 65535")
                        .endSysctl().endSecurityContext().addNewVolume().withName("scratch").withNewEmptyDir().endEmptyDir().endVolume(),
                c -> c.withNewSecurityContext().withNewCapabilities().addToAdd("NET_BIND_SERVICE").addToDrop("ALL").endCapabilities()
                        .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile().endSecurityContext());
        assertThat(Baseline.violation(ok)).isNull();
    }
}
