package gpufleet.tenant.pod;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Repeated Events folded into one with a count, as the kubelet's recorder does, against fabric8's mock API server. */
@EnableKubernetesMockClient(crud = true)
class EventRecorderTest {
    private static final String BACKOFF = "Back-off restarting failed container main";
    KubernetesClient client;

    private static Pod pod(String name, String uid) {
        return new PodBuilder().withNewMetadata().withName(name).withNamespace("default").withUid(uid).endMetadata()
                .withNewSpec().addNewContainer().withName("main").withImage("busybox").endContainer().endSpec().build();
    }

    private List<Event> events() {
        return client.v1().events().inNamespace("default").list().getItems();
    }

    @Test
    void threeIdenticalEventsAreOneWithCountThreeAndItsLastTimestampMoves() throws Exception {
        EventRecorder recorder = new EventRecorder(client, "k8s.gpu");
        Pod pod = pod("crashy", "uid-crashy-0001");
        recorder.record(pod, "backoff.main.1", "Warning", "BackOff", BACKOFF);
        Thread.sleep(1100); // timestamps have whole seconds in kubectl's view
        recorder.record(pod, "backoff.main.2", "Warning", "BackOff", BACKOFF);
        recorder.record(pod, "backoff.main.3", "Warning", "BackOff", BACKOFF);
        recorder.record(pod, "backoff.main.3", "Warning", "BackOff", BACKOFF);
        assertThat(events()).singleElement().satisfies(e -> {
            assertThat(e.getCount()).as("three occurrences; the third seen twice counts once").isEqualTo(3);
            assertThat(e.getReason()).isEqualTo("BackOff");
            assertThat(e.getInvolvedObject().getUid()).isEqualTo("uid-crashy-0001");
            assertThat(Instant.parse(e.getLastTimestamp())).isAfter(Instant.parse(e.getFirstTimestamp()));
        });
    }

    @Test
    void anotherMessageReasonOrPodIsAnEventOfItsOwn() {
        EventRecorder recorder = new EventRecorder(client, "k8s.gpu");
        Pod pod = pod("probed", "uid-probed-0001");
        recorder.record(pod, "unhealthy.1", "Warning", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503");
        recorder.record(pod, "unhealthy.2", "Warning", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 500");
        recorder.record(pod, "killing.1", "Normal", "Killing", "Readiness probe failed: HTTP probe failed with statuscode: 503");
        recorder.record(pod("other", "uid-other-0001"), "unhealthy.1", "Warning", "Unhealthy",
                "Readiness probe failed: HTTP probe failed with statuscode: 503");
        assertThat(events()).hasSize(4).allSatisfy(e -> assertThat(e.getCount()).isEqualTo(1));
    }

    @Test
    void aFoldedEventThatIsGoneIsRecordedAnewAndARestartedAgentDoesNotRecordAnOccurrenceTwice() {
        Pod pod = pod("crashy", "uid-crashy-0002");
        EventRecorder recorder = new EventRecorder(client, "k8s.gpu");
        recorder.record(pod, "backoff.main.1", "Warning", "BackOff", BACKOFF);
        // Expired, as the API server drops Events after an hour.
        events().forEach(e -> client.v1().events().inNamespace("default").withName(e.getMetadata().getName()).delete());
        recorder.record(pod, "backoff.main.2", "Warning", "BackOff", BACKOFF);
        assertThat(events()).singleElement().satisfies(e -> assertThat(e.getCount()).isEqualTo(1));
        EventRecorder restarted = new EventRecorder(client, "k8s.gpu");
        restarted.record(pod, "backoff.main.2", "Warning", "BackOff", BACKOFF);
        assertThat(events()).singleElement().satisfies(e -> assertThat(e.getCount()).isEqualTo(1));
    }
}
