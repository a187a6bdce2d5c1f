package gpufleet.tenant.pod;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodSpecBuilder;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The table of docs/tenants.md, field by field: what refuses a pod, what is ignored with a Warning, what passes. */
class PodFieldsTest {
    private static Pod pod(UnaryOperator<PodSpecBuilder> spec, UnaryOperator<ContainerBuilder> container) {
        ContainerBuilder c = container.apply(new ContainerBuilder().withName("main").withImage("busybox"));
        return new PodBuilder().withNewMetadata().withName("p").withNamespace("default").endMetadata()
                .withSpec(spec.apply(new PodSpecBuilder().withContainers(c.build())).build()).build();
    }

    private static Arguments spec(String field, UnaryOperator<PodSpecBuilder> s) {
        return Arguments.of(field, pod(s, c -> c));
    }

    private static Arguments container(String field, UnaryOperator<ContainerBuilder> c) {
        return Arguments.of(field, pod(s -> s, c));
    }

    static Stream<Arguments> refused() {
        return Stream.of(
                spec("spec.initContainers[0].volumeDevices", s -> s.addNewInitContainer().withName("fetch").withImage("busybox")
                        .addNewVolumeDevice().withName("disk").withDevicePath("/dev/xvda").endVolumeDevice().endInitContainer()),
                spec("spec.shareProcessNamespace", s -> s.withShareProcessNamespace(true)),
                spec("spec.hostUsers", s -> s.withHostUsers(false)),
                spec("spec.dnsConfig", s -> s.withNewDnsConfig().withNameservers("1.1.1.1").endDnsConfig()),
                spec("spec.os.name", s -> s.withNewOs().withName("windows").endOs()),
                spec("spec.setHostnameAsFQDN", s -> s.withSetHostnameAsFQDN(true)),
                spec("spec.securityContext.supplementalGroupsPolicy", s -> s.withNewSecurityContext().withSupplementalGroupsPolicy("Strict")
                        .endSecurityContext()),
                Arguments.of("spec.volumes[0] (\"mem\").emptyDir with subPath", pod(s -> s.addNewVolume().withName("mem").withNewEmptyDir()
                        .withMedium("Memory").endEmptyDir().endVolume(), c -> c.addNewVolumeMount().withName("mem").withMountPath("/m")
                        .withSubPath("a").endVolumeMount())),
                spec("spec.securityContext.sysctls", s -> s.withNewSecurityContext().addNewSysctl().withName("net.ipv4.tcp_syncookies")
                        .withValue("1").endSysctl().endSecurityContext()),
                spec("spec.volumes[0] (\"data\").persistentVolumeClaim is not supported on k8s.gpu: its pods run at the GPU provider"
                        + " and cannot mount the cluster's storage (GPU Fleet's rule, not a Pod Security control)",
                        s -> s.addNewVolume().withName("data").withNewPersistentVolumeClaim().withClaimName("c").endPersistentVolumeClaim()
                                .endVolume()),
                spec("spec.volumes[0] (\"nfs\") is not supported on k8s.gpu yet", s -> s.addNewVolume().withName("nfs").withNewNfs()
                        .withServer("nas").withPath("/x").endNfs().endVolume()),
                container("spec.containers[0].volumeMounts[0].subPathExpr", c -> c.addNewVolumeMount().withName("v").withMountPath("/v")
                        .withSubPathExpr("$(POD_NAME)").endVolumeMount()),
                container("spec.containers[0].volumeDevices", c -> c.addNewVolumeDevice().withName("v").withDevicePath("/dev/xvda")
                        .endVolumeDevice()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refused")
    void eachFieldThatWouldBreakThePodRefusesItNamingTheField(String field, Pod pod) {
        PodFields.Verdict v = PodFields.check(pod);
        assertThat(v.refusal()).as(field).isNotNull().contains(field);
        assertThat(v.refusal()).contains("not supported on k8s.gpu").doesNotContain("PodSecurity");
    }

    static Stream<Arguments> ignored() {
        return Stream.of(
                spec("spec.initContainers[0].stdinOnce", s -> s.addNewInitContainer().withName("fetch").withImage("busybox")
                        .withStdinOnce(true).endInitContainer()),
                container("spec.containers[0].securityContext.allowPrivilegeEscalation", c -> c.withNewSecurityContext()
                        .withAllowPrivilegeEscalation(true).endSecurityContext()),
                spec("spec.readinessGates", s -> s.addNewReadinessGate().withConditionType("example.com/lb").endReadinessGate()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("ignored")
    void fieldsThePodRunsWithoutAreIgnoredWithAWarning(String field, Pod pod) {
        PodFields.Verdict v = PodFields.check(pod);
        assertThat(v.refusal()).as(field).isNull();
        assertThat(v.ignoredMessage()).startsWith("ignored on k8s.gpu (not supported yet; the pod runs without them): ").contains(field);
    }

    @Test
    void securityContextNamesAndEmptyDirsSharedByTwoContainersAreHonoured() {
        Pod p = new PodBuilder(pod(s -> s.withHostname("trainer-0").withSubdomain("trainers").addNewHostAlias().withIp("10.0.0.1")
                        .withHostnames("db").endHostAlias().withNewSecurityContext().withRunAsUser(1000L).withRunAsGroup(3000L)
                        .withRunAsNonRoot(true).withFsGroup(2000L).withSupplementalGroups(4000L).endSecurityContext()
                        .addNewVolume().withName("shared").withNewEmptyDir().endEmptyDir().endVolume()
                        .addNewVolume().withName("dshm").withNewEmptyDir().withMedium("Memory").endEmptyDir().endVolume(),
                c -> c.addNewVolumeMount().withName("shared").withMountPath("/shared").endVolumeMount()
                        .addNewVolumeMount().withName("dshm").withMountPath("/dev/shm").endVolumeMount()
                        .withNewSecurityContext().withRunAsUser(1001L).withRunAsNonRoot(true).withReadOnlyRootFilesystem(true)
                        .withNewCapabilities().addToDrop("ALL").endCapabilities().endSecurityContext()))
                .editSpec().addNewContainer().withName("side").withImage("busybox").addNewVolumeMount().withName("shared")
                .withMountPath("/in").withSubPath("sub").endVolumeMount().endContainer().endSpec().build();
        PodFields.Verdict v = PodFields.check(p);
        assertThat(v.refusal()).isNull();
        assertThat(v.ignoredMessage()).isNull();
    }

    @Test
    void whatIsHonouredOrOnlyTheSchedulersPasses() {
        Pod ok = pod(s -> s.withRestartPolicy("Never").withTerminationGracePeriodSeconds(5L).withNodeSelector(java.util.Map.of("a", "b"))
                        .withDnsPolicy("ClusterFirst").withEnableServiceLinks(true).withPriority(0).withNewOs().withName("linux").endOs()
                        .withNewSecurityContext().withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile().endSecurityContext()
                        .addNewVolume().withName("cfg").withNewConfigMap().withName("cfg").endConfigMap().endVolume(),
                c -> c.withCommand("sleep").withArgs("1").withWorkingDir("/").addNewPort().withContainerPort(80).endPort()
                        .withTerminationMessagePath("/dev/termination-log").withTerminationMessagePolicy("File")
                        .addNewVolumeMount().withName("cfg").withMountPath("/etc/cfg").endVolumeMount()
                        .withNewSecurityContext().withAllowPrivilegeEscalation(false).withNewCapabilities().addToAdd("NET_BIND_SERVICE")
                        .endCapabilities().endSecurityContext());
        PodFields.Verdict v = PodFields.check(ok);
        assertThat(v.refusal()).isNull();
        assertThat(v.ignoredMessage()).isNull();
    }
}
