package gpufleet.tenant.pod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gpufleet.common.api.OfferingView;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The pod sync against an in-memory provider (virtual-kubelet's scenarios): create, start and
 * delete; the delete of a pod the provider never had; a provider that fails deletes for a while;
 * a workload left dangling when its pod went away unseen; a settled pod left alone by the resync;
 * a new pod sent once.
 */
@EnableKubernetesMockClient(crud = true)
class PodSyncTest {
    static final List<OfferingView> OFFERINGS = List.of(OfferingView.of("seeweb-nvidia-1xa6000", "NVIDIA RTX A6000", 1, 8000,
            "32861620Ki"));

    KubernetesClient client;
    final MemoryProvider provider = new MemoryProvider();
    PodSync sync;

    private PodSync start(Duration resync) {
        sync = new PodSync(client, new PodController(client, "k8s.gpu", "10.1.2.3"), resync, Duration.ofMillis(50));
        sync.provider(provider, OFFERINGS);
        return sync;
    }

    @AfterEach
    void stop() {
        if (sync != null) {
            sync.close();
        }
    }

    private Pod pod(String name, String node, String... finalizers) {
        return client.pods().inNamespace("default").resource(new PodBuilder()
                .withNewMetadata().withName(name).withNamespace("default").withFinalizers(finalizers).endMetadata()
                .withNewSpec().withNodeName(node).withRuntimeClassName("seeweb-nvidia-1xa6000")
                .withContainers(new ContainerBuilder().withName("main").withImage("gpufleet/busybox:test")
                        .withNewResources().addToLimits("nvidia.com/gpu", new Quantity("1")).endResources().build())
                .endSpec().build()).create();
    }

    private Pod get(String name) {
        return client.pods().inNamespace("default").withName(name).get();
    }

    @Test
    void aPodIsCreatedStartsAndIsDeletedAtTheProvider() {
        start(Duration.ofMillis(200));
        String uid = pod("trainer", "k8s.gpu").getMetadata().getUid();
        String elsewhere = pod("other", "node-2").getMetadata().getUid();
        await().atMost(Duration.ofSeconds(10)).until(() -> provider.get(uid) != null);
        await().atMost(Duration.ofSeconds(10)).until(() -> get("trainer").getStatus() != null
                && "Pending".equals(get("trainer").getStatus().getPhase()));

        provider.run(uid);
        await().atMost(Duration.ofSeconds(10)).until(() -> "Running".equals(get("trainer").getStatus().getPhase()));
        assertThat(get("trainer").getStatus().getContainerStatuses().get(0).getReady()).isTrue();

        client.pods().inNamespace("default").withName("trainer").delete();
        await().atMost(Duration.ofSeconds(10)).until(() -> provider.get(uid) == null);
        assertThat(provider.count("create " + elsewhere)).as("a pod bound to another node is not this agent's").isZero();
        assertThat(provider.workloads).isEmpty();
    }

    @Test
    void aNewImageOnARunningPodIsSentAsAnUpdateWithTheKubeletsKillingEvent() throws InterruptedException {
        start(Duration.ofMillis(200));
        String uid = pod("server", "k8s.gpu").getMetadata().getUid();
        await().atMost(Duration.ofSeconds(10)).until(() -> provider.get(uid) != null);
        provider.run(uid);
        await().atMost(Duration.ofSeconds(10)).until(() -> "Running".equals(get("server").getStatus().getPhase()));
        assertThat(provider.count("update " + uid)).as("nothing changed yet").isZero();

        // The agent writes the pod's status meanwhile: an edit that lost the race is tried again, as kubectl does.
        await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> client.pods().inNamespace("default").withName("server")
                .edit(p -> {
                    p.getSpec().getContainers().get(0).setImage("gpufleet/busybox:uid1000");
                    return p;
                }) != null);
        await().atMost(Duration.ofSeconds(10)).until(() -> "gpufleet/busybox:uid1000".equals(provider.get(uid).containers().get(0).image()));
        await().atMost(Duration.ofSeconds(10)).until(() -> client.v1().events().inNamespace("default").list().getItems().stream()
                .anyMatch(e -> "Killing".equals(e.getReason())
                        && "Container main definition changed, will be restarted".equals(e.getMessage())));
        Thread.sleep(1000);
        long sent = provider.count("update " + uid);
        Thread.sleep(1000); // five resyncs
        assertThat(provider.count("update " + uid)).as("not sent again once the provider runs the new image").isEqualTo(sent);
    }

    @Test
    void deletingAPodTheProviderNeverHadIsNoError() {
        pod("never-sent", "k8s.gpu", "example.com/hold");
        client.pods().inNamespace("default").withName("never-sent").delete();
        String uid = get("never-sent").getMetadata().getUid();
        assertThat(get("never-sent").getMetadata().getDeletionTimestamp()).as("held by its finalizer").isNotNull();
        start(Duration.ofMillis(200));

        await().atMost(Duration.ofSeconds(10)).until(() -> provider.count("delete " + uid) >= 1);
        await().atMost(Duration.ofSeconds(5)).until(() -> sync.queued() == 0);
        assertThat(provider.count("create " + uid)).as("a pod being deleted is never sent").isZero();
        assertThat(provider.calls).allMatch(c -> c.equals("delete " + uid));
    }

    @Test
    void aDeleteTheProviderFailsIsRetriedWithBackOffUntilItGoesThrough() throws InterruptedException {
        start(Duration.ofHours(1)); // no resync after the first: only the work queue's retries call again
        String uid = pod("stubborn", "k8s.gpu").getMetadata().getUid();
        await().atMost(Duration.ofSeconds(10)).until(() -> provider.get(uid) != null);
        // Quiet first: a status write's own event, queued while the delete fails, would bring the key back at once.
        await().atMost(Duration.ofSeconds(10)).until(() -> get("stubborn").getStatus() != null && sync.queued() == 0);
        Thread.sleep(500);
        provider.deleteFailures.set(2);

        long t0 = System.nanoTime();
        client.pods().inNamespace("default").withName("stubborn").delete();
        await().atMost(Duration.ofSeconds(10)).until(() -> provider.get(uid) == null);
        long millis = (System.nanoTime() - t0) / 1_000_000;

        assertThat(provider.count("delete " + uid)).as("two failures, then the one that went through").isEqualTo(3);
        // Back-offs of 250 ms, then 500 ms, each jittered down to no less than half of it.
        assertThat(millis).as("waited at least 125 ms, then 250 ms between tries").isGreaterThanOrEqualTo(375);
    }

    @Test
    void aWorkloadWhosePodIsGoneIsDeleted() {
        provider.dangling("0b3d2c84-7b37-4c41-9a1e-6d7c9a5e1f00");
        String kept = pod("kept", "k8s.gpu").getMetadata().getUid();
        start(Duration.ofMillis(200));

        await().atMost(Duration.ofSeconds(10)).until(() -> provider.get("0b3d2c84-7b37-4c41-9a1e-6d7c9a5e1f00") == null);
        assertThat(provider.get(kept)).as("the pod that exists keeps its workload").isNotNull();
        assertThat(provider.count("delete " + kept)).isZero();
    }

    @Test
    void aSettledPodCostsTheResyncNothingUntilItsWorkloadChanges() {
        start(Duration.ofMillis(50));
        String uid = pod("settled", "k8s.gpu").getMetadata().getUid();
        await().atMost(Duration.ofSeconds(10)).until(() -> provider.get(uid) != null);
        provider.run(uid);
        await().atMost(Duration.ofSeconds(10)).until(() -> "Running".equals(get("settled").getStatus().getPhase()));
        // The status write's own watch event brings the pod back once more; after that it is settled.
        long rounds = sync.resyncs();
        await().atMost(Duration.ofSeconds(10)).until(() -> sync.resyncs() >= rounds + 3 && sync.queued() == 0);
        long syncs = sync.syncs();
        long later = sync.resyncs();
        await().atMost(Duration.ofSeconds(10)).until(() -> sync.resyncs() >= later + 10);
        assertThat(sync.syncs()).as("10 resync rounds over a pod and workload both unchanged").isEqualTo(syncs);

        provider.run(uid); // the host reports again (a new start time): the workload changed
        await().atMost(Duration.ofSeconds(10)).until(() -> sync.syncs() > syncs);
    }

    @Test
    void aNewPodIsSentToTheProviderOnce() {
        // A slow resync: the provider's list cannot tell the pod's second sync that its workload exists.
        start(Duration.ofSeconds(30));
        String uid = pod("once", "k8s.gpu").getMetadata().getUid();
        await().atMost(Duration.ofSeconds(10)).until(() -> get("once").getStatus() != null
                && "Pending".equals(get("once").getStatus().getPhase()));
        // The status write's own watch event brings the pod back to a worker.
        await().atMost(Duration.ofSeconds(10)).until(() -> sync.syncs() >= 2 && sync.queued() == 0);
        assertThat(provider.count("create " + uid)).isEqualTo(1);
    }

    @Test
    void aNewPodIsHandedOutBeforeStatusWorkQueuedEarlier() throws InterruptedException {
        try (PodQueue q = new PodQueue(Duration.ofMillis(250), Duration.ofSeconds(60))) {
            q.add("default/running-1");
            q.add("default/running-2");
            q.add("default/new-1", true);
            q.add("default/running-1", true); // queued already: it moves ahead too
            assertThat(List.of(q.take(), q.take(), q.take())).containsExactly("default/new-1", "default/running-1", "default/running-2");
        }
    }

    @Test
    void aFailingKeyWaitsLongerEachTime() {
        try (PodQueue q = new PodQueue(Duration.ofMillis(250), Duration.ofSeconds(60))) {
            assertThat(List.of(q.backoff(1), q.backoff(2), q.backoff(3), q.backoff(9), q.backoff(40)))
                    .containsExactly(Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofMillis(1000),
                            Duration.ofSeconds(60), Duration.ofSeconds(60));
        }
    }

    @Test
    void aRetryWaitsBetweenHalfItsBackOffAndAllOfIt() {
        Set<Duration> waits = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            Duration wait = PodQueue.jittered(Duration.ofSeconds(8));
            assertThat(wait).isBetween(Duration.ofSeconds(4), Duration.ofSeconds(8));
            waits.add(wait);
        }
        assertThat(waits).as("pods refused together come back spread out").hasSizeGreaterThan(50);
    }
}
