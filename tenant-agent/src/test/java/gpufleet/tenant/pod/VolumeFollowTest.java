package gpufleet.tenant.pod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import gpufleet.common.api.WorkloadSpec;
import gpufleet.common.api.WorkloadView;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The pod sync follows ConfigMaps as a kubelet does (against an in-memory provider): an edit sends
 * the files of the pods whose volumes it fills, and only theirs; a pod that takes the ConfigMap as
 * env only is left alone, as its env never changes.
 */
@EnableKubernetesMockClient(crud = true)
class VolumeFollowTest {
    KubernetesClient client;
    final MemoryProvider memory = new MemoryProvider();
    final List<WorkloadSpec> updates = Collections.synchronizedList(new ArrayList<>());
    PodSync sync;

    @AfterEach
    void stop() {
        if (sync != null) {
            sync.close();
        }
    }

    /** The in-memory provider, keeping each update's spec. */
    private final PodProvider provider = new PodProvider() {
        @Override
        public WorkloadView create(WorkloadSpec spec) {
            return memory.create(spec);
        }

        @Override
        public WorkloadView update(WorkloadSpec spec) {
            updates.add(spec);
            return memory.update(spec);
        }

        @Override
        public void delete(String podUid) throws IOException {
            memory.delete(podUid);
        }

        @Override
        public WorkloadView get(String podUid) {
            return memory.get(podUid);
        }

        @Override
        public List<WorkloadView> list() {
            return memory.list();
        }
    };

    private String pod(String name, String configMap, boolean asVolume) {
        PodBuilder b = new PodBuilder().withNewMetadata().withName(name).withNamespace("default").endMetadata()
                .withNewSpec().withNodeName("k8s.gpu").withRuntimeClassName("seeweb-nvidia-1xa6000")
                .addNewContainer().withName("main").withImage("gpufleet/busybox:test")
                .withNewResources().addToLimits("nvidia.com/gpu", new Quantity("1")).endResources()
                .addNewEnvFrom().withNewConfigMapRef().withName(configMap).endConfigMapRef().endEnvFrom().endContainer().endSpec();
        if (asVolume) {
            b.editSpec().editFirstContainer().addNewVolumeMount().withName("cfg").withMountPath("/etc/cfg").endVolumeMount()
                    .endContainer().addNewVolume().withName("cfg").withNewConfigMap().withName(configMap).endConfigMap().endVolume()
                    .endSpec();
        }
        return client.pods().inNamespace("default").resource(b.build()).create().getMetadata().getUid();
    }

    private static String content(WorkloadSpec spec, String path) {
        return spec.containers().get(0).files().stream().filter(f -> f.path().equals(path))
                .map(f -> new String(Base64.getDecoder().decode(f.contentBase64()), StandardCharsets.UTF_8)).findFirst().orElse(null);
    }

    private long updatesOf(String uid) {
        synchronized (updates) {
            return updates.stream().filter(s -> s.podUid().equals(uid)).count();
        }
    }

    @Test
    void aConfigMapEditSendsTheFilesOfThePodsMountingItOnly() throws Exception {
        for (String name : List.of("app", "other")) {
            client.configMaps().inNamespace("default").resource(new ConfigMapBuilder().withNewMetadata().withName(name).endMetadata()
                    .addToData("mode", "v1").build()).create();
        }
        String mounting = pod("mounting", "app", true);
        String otherVolume = pod("other-volume", "other", true);
        String envOnly = pod("env-only", "app", false);
        sync = new PodSync(client, new PodController(client, "k8s.gpu", "10.1.2.3"), Duration.ofSeconds(1), Duration.ofMillis(50));
        sync.provider(provider, PodSyncTest.OFFERINGS);
        await().atMost(Duration.ofSeconds(10)).until(() -> List.of(mounting, otherVolume, envOnly).stream().allMatch(u -> memory.get(u) != null));
        List.of(mounting, otherVolume, envOnly).forEach(memory::run);
        // Once its workload is seen, a pod with volumes has its files sent once (unchanged: the provider keeps them).
        await().atMost(Duration.ofSeconds(10)).until(() -> updatesOf(mounting) == 1 && updatesOf(otherVolume) == 1);
        Thread.sleep(2500); // two resyncs
        assertThat(updatesOf(mounting)).as("nothing changed yet").isEqualTo(1);
        assertThat(updatesOf(envOnly)).as("a pod without volumes has nothing to follow").isZero();
        updates.clear();

        client.configMaps().inNamespace("default").withName("app").edit(cm -> new ConfigMapBuilder(cm).addToData("mode", "v2")
                .addToData("added", "yes").build());
        await().atMost(Duration.ofSeconds(10)).until(() -> updatesOf(mounting) > 0);
        WorkloadSpec sent = updates.stream().filter(s -> s.podUid().equals(mounting)).findFirst().orElseThrow();
        assertThat(content(sent, "/etc/cfg/mode")).isEqualTo("v2");
        assertThat(content(sent, "/etc/cfg/added")).isEqualTo("yes");
        Thread.sleep(2500);
        assertThat(updatesOf(mounting)).as("sent once").isEqualTo(1);
        assertThat(updatesOf(otherVolume)).as("a pod mounting another ConfigMap").isZero();
        assertThat(updatesOf(envOnly)).as("env never follows a ConfigMap").isZero();
    }

    @Test
    void aLabelChangeSendsTheDownwardApiFilesThatShowIt() {
        String uid = client.pods().inNamespace("default").resource(new PodBuilder().withNewMetadata().withName("labelled")
                .withNamespace("default").addToLabels("tier", "blue").endMetadata()
                .withNewSpec().withNodeName("k8s.gpu").withRuntimeClassName("seeweb-nvidia-1xa6000")
                .addNewVolume().withName("info").withNewDownwardAPI().addNewItem().withPath("tier").withNewFieldRef()
                .withFieldPath("metadata.labels['tier']").endFieldRef().endItem().endDownwardAPI().endVolume()
                .addNewContainer().withName("main").withImage("gpufleet/busybox:test")
                .withNewResources().addToLimits("nvidia.com/gpu", new Quantity("1")).endResources()
                .addNewVolumeMount().withName("info").withMountPath("/etc/podinfo").endVolumeMount().endContainer().endSpec()
                .build()).create().getMetadata().getUid();
        sync = new PodSync(client, new PodController(client, "k8s.gpu", "10.1.2.3"), Duration.ofSeconds(1), Duration.ofMillis(50));
        sync.provider(provider, PodSyncTest.OFFERINGS);
        await().atMost(Duration.ofSeconds(10)).until(() -> memory.get(uid) != null);
        memory.run(uid);
        await().atMost(Duration.ofSeconds(10)).until(() -> updatesOf(uid) == 1);
        // The agent writes the pod's status meanwhile: an edit that lost the race is tried again, as kubectl does.
        await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> client.pods().inNamespace("default").withName("labelled")
                .edit(p -> new PodBuilder(p).editMetadata().addToLabels("tier", "green").endMetadata().build()) != null);
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            synchronized (updates) {
                return updates.stream().anyMatch(s -> "green".equals(content(s, "/etc/podinfo/tier")));
            }
        });
    }
}
