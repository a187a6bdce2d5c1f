package gpufleet.tenant.pod;

import static org.assertj.core.api.Assertions.assertThat;

import gpufleet.common.api.OfferingView;
import gpufleet.common.api.PodSettings;
import gpufleet.common.api.WorkloadSpec;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A pod's securityContext, emptyDirs, hostname and hostAliases as they reach the provider's spec. */
class PodSettingsFieldsTest {
    private static final OfferingView OFFERING = OfferingView.of("seeweb-nvidia-1xa6000", "A6000", 1, 8000, "32Gi");
    private static final PodResolver.Resolved NOTHING = new PodResolver.Resolved(Map.of(), Map.of(), List.of());

    private static WorkloadSpec translate(Pod pod) {
        PodTranslator.Result r = PodTranslator.translate(pod, OFFERING, NOTHING);
        assertThat(r).as("%s", r).isInstanceOf(PodTranslator.Ok.class);
        return ((PodTranslator.Ok) r).spec();
    }

    @Test
    void theSecurityContextsEmptyDirsHostnameAndAliasesTravelAsWritten() {
        Pod pod = new PodBuilder().withNewMetadata().withName("trainer").withNamespace("ml").withUid("u-1").endMetadata().withNewSpec()
                .withHostname("trainer-0").withSubdomain("workers")
                .addNewHostAlias().withIp("10.0.0.7").withHostnames("db", "db.local").endHostAlias()
                .withNewSecurityContext().withRunAsUser(1000L).withRunAsGroup(3000L).withRunAsNonRoot(true).withFsGroup(2000L)
                .withSupplementalGroups(4000L).endSecurityContext()
                .addNewVolume().withName("scratch").withNewEmptyDir().withSizeLimit(new Quantity("1Gi")).endEmptyDir().endVolume()
                .addNewVolume().withName("dshm").withNewEmptyDir().withMedium("Memory").endEmptyDir().endVolume()
                .addNewVolume().withName("cfg").withNewConfigMap().withName("cfg").endConfigMap().endVolume()
                .addNewContainer().withName("main").withImage("busybox")
                .addNewVolumeMount().withName("scratch").withMountPath("/scratch").withSubPath("a").withReadOnly(true).endVolumeMount()
                .addNewVolumeMount().withName("dshm").withMountPath("/dev/shm").endVolumeMount()
                .addNewVolumeMount().withName("cfg").withMountPath("/etc/cfg").endVolumeMount()
                .withNewSecurityContext().withRunAsUser(1001L).withReadOnlyRootFilesystem(true).withAllowPrivilegeEscalation(false)
                .withNewCapabilities().addToAdd("CAP_net_bind_service").addToDrop("ALL").endCapabilities().endSecurityContext()
                .endContainer().endSpec().build();
        WorkloadSpec spec = translate(pod);
        assertThat(spec.securityContext()).isEqualTo(new PodSettings.PodSecurity(1000L, 3000L, true, 2000L, List.of(4000L)));
        assertThat(spec.volumes()).containsExactly(new PodSettings.Volume("scratch", "", "1Gi"),
                new PodSettings.Volume("dshm", "Memory", null));
        assertThat(spec.hostname()).isEqualTo("trainer-0");
        assertThat(spec.subdomain()).isEqualTo("workers");
        assertThat(spec.hostAliases()).containsExactly(new PodSettings.HostAlias("10.0.0.7", List.of("db", "db.local")));
        WorkloadSpec.Container c = spec.containers().get(0);
        assertThat(c.securityContext()).isEqualTo(new PodSettings.ContainerSecurity(1001L, null, null, true, false,
                List.of("NET_BIND_SERVICE"), List.of("ALL")));
        assertThat(c.volumeMounts()).as("the ConfigMap travels as files, not as a volume").containsExactly(
                new PodSettings.VolumeMount("scratch", "/scratch", true, "a"), new PodSettings.VolumeMount("dshm", "/dev/shm", false, null));
    }

    @Test
    void aPodWithoutThemSendsNone() {
        WorkloadSpec spec = translate(new PodBuilder().withNewMetadata().withName("p").withNamespace("default").withUid("u-2").endMetadata()
                .withNewSpec().addNewContainer().withName("main").withImage("busybox").endContainer().endSpec().build());
        assertThat(spec.securityContext()).isNull();
        assertThat(spec.volumes()).isEmpty();
        assertThat(spec.hostname()).isNull();
        assertThat(spec.hostAliases()).isEmpty();
        assertThat(spec.containers().get(0).securityContext()).isNull();
    }

    @Test
    void aSubPathLeavingItsVolumeIsRefusedNamingTheField() {
        Pod pod = new PodBuilder().withNewMetadata().withName("p").withNamespace("default").withUid("u-3").endMetadata().withNewSpec()
                .addNewVolume().withName("v").withNewEmptyDir().endEmptyDir().endVolume()
                .addNewContainer().withName("main").withImage("busybox").addNewVolumeMount().withName("v").withMountPath("/v")
                .withSubPath("../../etc").endVolumeMount().endContainer().endSpec().build();
        PodTranslator.Result r = PodTranslator.translate(pod, OFFERING, NOTHING);
        assertThat(r).isEqualTo(new PodTranslator.Refused("InvalidPodSpec", "volumeMounts.subPath must be relative, without '..'"));
    }
}
