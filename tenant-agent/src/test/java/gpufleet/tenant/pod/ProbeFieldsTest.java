package gpufleet.tenant.pod;

import static org.assertj.core.api.Assertions.assertThat;

import gpufleet.common.api.OfferingView;
import gpufleet.common.api.Probe;
import gpufleet.common.api.WorkloadSpec;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** A container's probes on their way to the provider: honoured (gRPC too), named ports resolved, what cannot be honoured refused. */
class ProbeFieldsTest {
    private static final OfferingView OFFERING = OfferingView.of("seeweb-nvidia-1xa6000", "A6000", 1, 8000, "32Gi");
    private static final PodResolver.Resolved NOTHING = new PodResolver.Resolved(Map.of(), Map.of(), List.of());

    private static Pod pod(UnaryOperator<ContainerBuilder> container) {
        return new PodBuilder().withNewMetadata().withName("web").withNamespace("default").withUid("u-1").endMetadata().withNewSpec()
                .addToContainers(container.apply(new ContainerBuilder().withName("main").withImage("busybox")
                        .addNewPort().withName("http").withContainerPort(8080).endPort()).build()).endSpec().build();
    }

    @Test
    void probesTravelWithTheKubeletsDefaultsAndNamedPortsAsNumbers() {
        Pod p = pod(c -> c.withNewReadinessProbe().withNewHttpGet().withPath("/ready").withPort(new IntOrString("http"))
                        .withScheme("HTTPS").addNewHttpHeader().withName("X-Check").withValue("1").endHttpHeader().endHttpGet()
                        .withPeriodSeconds(2).withFailureThreshold(5).endReadinessProbe()
                .withNewLivenessProbe().withNewTcpSocket().withPort(new IntOrString("http")).endTcpSocket()
                        .withTerminationGracePeriodSeconds(7L).endLivenessProbe()
                .withNewStartupProbe().withNewExec().withCommand("cat", "/tmp/started").endExec().withInitialDelaySeconds(3).endStartupProbe());
        assertThat(PodFields.check(p).refusal()).isNull();
        assertThat(PodFields.check(p).ignoredMessage()).as("probes are honoured, not ignored").isNull();
        PodTranslator.Result r = PodTranslator.translate(p, OFFERING, NOTHING);
        assertThat(r).as("%s", r).isInstanceOf(PodTranslator.Ok.class);
        WorkloadSpec.Container c = ((PodTranslator.Ok) r).spec().containers().get(0);
        assertThat(c.readinessProbe()).isEqualTo(new Probe(new Probe.Handler(null, new Probe.HttpGet("/ready", 8080, "HTTPS",
                List.of(new Probe.Header("X-Check", "1"))), null, null, null), 0, 2, 1, 1, 5, null));
        assertThat(c.livenessProbe()).isEqualTo(new Probe(new Probe.Handler(null, null, 8080, null, null), 0, 10, 1, 1, 3, 7L));
        assertThat(c.startupProbe().handler().exec()).containsExactly("cat", "/tmp/started");
        assertThat(c.startupProbe().initialDelaySeconds()).isEqualTo(3);
    }

    @Test
    void aPortNameTheContainerDoesNotDeclareIsRefusedNamingTheField() {
        Pod p = pod(c -> c.withNewLivenessProbe().withNewHttpGet().withPort(new IntOrString("metrics")).endHttpGet().endLivenessProbe());
        PodTranslator.Result r = PodTranslator.translate(p, OFFERING, NOTHING);
        assertThat(r).isInstanceOf(PodTranslator.Refused.class);
        assertThat(((PodTranslator.Refused) r).message()).contains("livenessProbe.httpGet.port")
                .contains("container main has no port named 'metrics'");
    }

    @Test
    void aGrpcProbeTravelsWithItsPortAndService() {
        Pod p = pod(c -> c.withNewStartupProbe().withNewGrpc().withPort(9090).withService("model").endGrpc().endStartupProbe()
                .withNewLivenessProbe().withNewGrpc().withPort(9091).endGrpc().endLivenessProbe());
        assertThat(PodFields.check(p).refusal()).isNull();
        assertThat(PodFields.check(p).ignoredMessage()).isNull();
        PodTranslator.Result r = PodTranslator.translate(p, OFFERING, NOTHING);
        assertThat(r).as("%s", r).isInstanceOf(PodTranslator.Ok.class);
        WorkloadSpec.Container c = ((PodTranslator.Ok) r).spec().containers().get(0);
        assertThat(c.startupProbe().handler().grpc()).isEqualTo(new Probe.Grpc(9090, "model"));
        assertThat(c.livenessProbe().handler().grpc()).isEqualTo(new Probe.Grpc(9091, null));
    }

    @Test
    void aProbeOfAnotherHostRefusesThePodNamingTheField() {
        assertThat(PodFields.check(pod(c -> c.withNewReadinessProbe().withNewHttpGet().withHost("169.254.169.254").withPath("/latest")
                .withPort(new IntOrString(80)).endHttpGet().endReadinessProbe())).refusal())
                .contains("spec.containers[0].readinessProbe.httpGet.host").contains("the pod's own address only");
        assertThat(PodFields.check(pod(c -> c.withNewLivenessProbe().withNewTcpSocket().withHost("10.0.0.1")
                .withPort(new IntOrString(22)).endTcpSocket().endLivenessProbe())).refusal())
                .contains("spec.containers[0].livenessProbe.tcpSocket.host");
    }
}
