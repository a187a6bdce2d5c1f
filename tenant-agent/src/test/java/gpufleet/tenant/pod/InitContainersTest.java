package gpufleet.tenant.pod;

import static org.assertj.core.api.Assertions.assertThat;

import gpufleet.common.api.ContainerStatus;
import gpufleet.common.api.OfferingView;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.common.api.WorkloadView;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Init containers, sidecars, lifecycle hooks and activeDeadlineSeconds from the tenant's pod to the provider's spec and back. */
class InitContainersTest {
    private static final OfferingView OFFERING = OfferingView.of("seeweb-nvidia-1xa6000", "A6000", 1, 8000, "32Gi");
    private static final PodResolver.Resolved NOTHING = new PodResolver.Resolved(Map.of(), Map.of(), List.of());
    private static final Instant T = Instant.parse("2026-12-06T23:00:00Z");

    private static Pod pod(String initGpus) {
        var init = new ContainerBuilder().withName("fetch").withImage("busybox")
                .withCommand("sh", "-c", "wget model").build();
        if (initGpus != null) {
            init.setResources(new ResourceRequirementsBuilder()
                    .addToLimits("nvidia.com/gpu", new Quantity(initGpus)).build());
        }
        return new PodBuilder().withNewMetadata().withName("trainer").withNamespace("ml").withUid("u-1").endMetadata().withNewSpec()
                .withActiveDeadlineSeconds(600L).withInitContainers(init)
                .addNewInitContainer().withName("proxy").withImage("busybox").withRestartPolicy("Always").withNewResources()
                .addToLimits("cpu", new Quantity("500m")).addToLimits("memory", new Quantity("256Mi")).endResources().endInitContainer()
                .addNewContainer().withName("main").withImage("busybox").addNewPort().withName("http").withContainerPort(8080).endPort()
                .withNewLifecycle().withNewPostStart().withNewExec().withCommand("touch", "/ready").endExec().endPostStart()
                .withNewPreStop().withNewHttpGet().withPath("/drain").withPort(new IntOrString("http")).endHttpGet().endPreStop()
                .endLifecycle().endContainer().endSpec().build();
    }

    @Test
    void initContainersSidecarsHooksAndTheDeadlineTravelToTheProvider() {
        Pod pod = pod(null);
        assertThat(PodFields.check(pod).refusal()).as("nothing of it is refused any more").isNull();
        PodTranslator.Result r = PodTranslator.translate(pod, OFFERING, NOTHING);
        assertThat(r).as("%s", r).isInstanceOf(PodTranslator.Ok.class);
        WorkloadSpec spec = ((PodTranslator.Ok) r).spec();
        assertThat(spec.initContainers()).extracting(WorkloadSpec.Container::name).containsExactly("fetch", "proxy");
        assertThat(spec.initContainers().get(0).restartPolicy()).isNull();
        assertThat(spec.initContainers().get(1).restartPolicy()).isEqualTo("Always");
        assertThat(spec.initContainers().get(0).resources().gpus()).as("no GPU unless it names some").isZero();
        assertThat(spec.activeDeadlineSeconds()).isEqualTo(600L);
        var hooks = spec.containers().get(0).lifecycle();
        assertThat(hooks.postStart().exec()).containsExactly("touch", "/ready");
        assertThat(hooks.preStop().httpGet().port()).as("the named port resolved").isEqualTo(8080);
        assertThat(hooks.preStop().httpGet().path()).isEqualTo("/drain");
        assertThat(spec.gpus()).isEqualTo(1);
    }

    @Test
    void anInitContainerWiderThanTheRuntimeClassKeepsThePodPending() {
        PodTranslator.Result r = PodTranslator.translate(pod("2"), OFFERING, NOTHING);
        assertThat(r).isInstanceOf(PodTranslator.Refused.class);
        assertThat(((PodTranslator.Refused) r).reason()).isEqualTo("OverRuntimeClassLimits");
        assertThat(((PodTranslator.Refused) r).message()).contains("2 GPU(s)").contains("init containers");
    }

    @Test
    void aSidecarThatDoesNotSayItsCpuAndMemoryKeepsThePodPendingNamingIt() {
        Pod pod = pod(null);
        pod.getSpec().getInitContainers().get(1).setResources(null);
        PodTranslator.Result r = PodTranslator.translate(pod, OFFERING, NOTHING);
        assertThat(r).isInstanceOf(PodTranslator.Refused.class);
        assertThat(((PodTranslator.Refused) r).message()).contains("spec.initContainers[1].resources").contains("sidecar \"proxy\"");
    }

    private static WorkloadView view(List<ContainerStatus> inits, ContainerStatus main) {
        return new WorkloadView(UUID.randomUUID(), "u-1", "ml", "trainer", "seeweb-nvidia-1xa6000", "placed", null, null,
                UUID.randomUUID(), Map.of(), List.of(main), false, T, inits);
    }

    private static PodCondition initialized(PodStatus s) {
        return s.getConditions().stream().filter(c -> c.getType().equals("Initialized")).findFirst().orElseThrow();
    }

    @Test
    void initializedIsFalseUntilEveryInitContainerDidItsPartAndTheirStatusesAreShownInOrder() {
        ContainerStatus fetchDone = new ContainerStatus("fetch", "terminated", "Completed", null, 0, 0, T, T.plusSeconds(3),
                "docker://f", "busybox", false, null);
        ContainerStatus initializing = new ContainerStatus("main", "waiting", "PodInitializing", null, null, 0, null, null, null, null,
                false, null);
        PodStatus running = PodStatuses.of(pod(null), view(List.of(new ContainerStatus("fetch", "running", null, null, null, 0, T, null,
                "docker://f", "busybox", true, null)), initializing), "10.0.0.1");
        assertThat(initialized(running).getStatus()).isEqualTo("False");
        assertThat(initialized(running).getReason()).isEqualTo("ContainersNotInitialized");
        assertThat(initialized(running).getMessage()).isEqualTo("containers with incomplete status: [fetch proxy]");
        assertThat(running.getInitContainerStatuses()).extracting(s -> s.getName()).containsExactly("fetch", "proxy");
        assertThat(running.getInitContainerStatuses().get(1).getState().getWaiting().getReason()).isEqualTo("PodInitializing");
        assertThat(running.getPhase()).isEqualTo("Pending");

        PodStatus done = PodStatuses.of(pod(null), view(List.of(fetchDone, new ContainerStatus("proxy", "running", null, null, null, 0,
                T.plusSeconds(4), null, "docker://p", "busybox", true, null)), initializing), "10.0.0.1");
        assertThat(initialized(done).getStatus()).isEqualTo("True");
        assertThat(done.getInitContainerStatuses().get(0).getState().getTerminated().getReason()).isEqualTo("Completed");
        assertThat(done.getInitContainerStatuses().get(1).getState().getRunning()).isNotNull();
        assertThat(PodStatuses.differ(running, done)).isTrue();
    }
}
