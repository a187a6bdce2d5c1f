package gpufleet.tenant.pod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.Frame;
import gpufleet.host.workload.Labels;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A running pod's image edited in the tenant's cluster, as `kubectl set image` does, followed to
 * Docker: the tenant-agent sends the new image, the control-api takes it, the host replaces that
 * container only, and the pod's status and events say so as the kubelet's would.
 */
@EnableKubernetesMockClient(crud = true)
class ImageUpdateOnDockerIT {
    KubernetesClient client;
    OnDocker on;

    @BeforeEach
    void start() throws Exception {
        on = new OnDocker(client, "image-update-gpu");
    }

    @AfterEach
    void stop() throws Exception {
        on.close();
    }

    @Test
    void aNewImageOnThePodRestartsThatContainerOnlyOnTheNewImage() throws Exception {
        Pod pod = new PodBuilder().withNewMetadata().withName("web").withNamespace("default").endMetadata()
                .withNewSpec().withNodeName("k8s.gpu").withRuntimeClassName(OnDocker.OFFERING)
                // sh as a container's first process ignores SIGTERM: a short grace keeps the replacement quick.
                .withTerminationGracePeriodSeconds(2L)
                .addNewContainer().withName("main").withImage("gpufleet/busybox:test").withCommand("sh", "-c", "id -u; sleep 3600")
                .withNewResources().addToLimits("nvidia.com/gpu", new Quantity("1")).addToLimits("cpu", new Quantity("500m"))
                .addToLimits("memory", new Quantity("64Mi")).endResources().endContainer()
                .addNewContainer().withName("side").withImage("gpufleet/busybox:test").withCommand("sleep", "3600")
                .withNewResources().addToLimits("cpu", new Quantity("100m")).addToLimits("memory", new Quantity("16Mi")).endResources()
                .endContainer()
                .endSpec().build();
        client.pods().inNamespace("default").resource(pod).create();
        awaitRunning("main", 0);
        awaitRunning("side", 0);
        Container mainBefore = docker("main");
        Container sideBefore = docker("side");
        assertThat(output(mainBefore).trim()).as("the first image runs as root").isEqualTo("0");

        client.pods().inNamespace("default").withName("web").edit(p -> new PodBuilder(p).editSpec().editContainer(0)
                .withImage("gpufleet/busybox:uid1000").endContainer().endSpec().build());
        awaitRunning("main", 1);

        Pod after = client.pods().inNamespace("default").withName("web").get();
        assertThat(status(after, "main").getImage()).isEqualTo("gpufleet/busybox:uid1000");
        assertThat(status(after, "main").getLastState().getTerminated()).as("the old container's end, as lastState").isNotNull();
        assertThat(after.getStatus().getPhase()).isEqualTo("Running");
        Container mainAfter = docker("main");
        assertThat(mainAfter.getId()).as("a new container for main").isNotEqualTo(mainBefore.getId());
        assertThat(mainAfter.getImage()).isEqualTo("gpufleet/busybox:uid1000");
        assertThat(docker("side").getId()).as("its neighbour is not touched").isEqualTo(sideBefore.getId());
        assertThat(status(after, "side").getRestartCount()).isZero();
        assertThat(output(mainAfter).trim()).as("the new image's user runs the command").isEqualTo("1000");
        List<Event> events = client.v1().events().inNamespace("default").list().getItems();
        assertThat(events).as("the kubelet's event for a changed container")
                .anyMatch(e -> "Killing".equals(e.getReason()) && e.getMessage().equals("Container main definition changed, will be restarted"));
    }

    /** Syncs until the container runs after {@code restarts} restarts; fails with the pod's status if it never does. */
    private void awaitRunning(String name, int restarts) {
        try {
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(300)).until(() -> running(on.sync("web"), name, restarts));
        } catch (ConditionTimeoutException e) {
            fail(name + " never ran after " + restarts + " restarts; the pod's status: "
                    + client.pods().inNamespace("default").withName("web").get().getStatus());
        }
    }

    private static ContainerStatus status(Pod pod, String name) {
        if (pod.getStatus() == null || pod.getStatus().getContainerStatuses() == null) {
            return null;
        }
        return pod.getStatus().getContainerStatuses().stream().filter(c -> c.getName().equals(name)).findFirst().orElse(null);
    }

    private static boolean running(Pod pod, String name, int restarts) {
        ContainerStatus s = status(pod, name);
        return s != null && s.getState().getRunning() != null && s.getRestartCount() == restarts;
    }

    /** What a container printed (stdout and stderr). */
    private String output(Container c) throws InterruptedException {
        StringBuilder out = new StringBuilder();
        on.docker.logContainerCmd(c.getId()).withStdOut(true).withStdErr(true).exec(new ResultCallback.Adapter<Frame>() {
            @Override
            public void onNext(Frame f) {
                out.append(new String(f.getPayload(), StandardCharsets.UTF_8));
            }
        }).awaitCompletion(10, TimeUnit.SECONDS);
        return out.toString();
    }

    /** The one running Docker container of this pod's container {@code name}. */
    private Container docker(String name) {
        List<Container> mine = on.containers().stream().filter(c -> name.equals(c.getLabels().get(Labels.CONTAINER)))
                .filter(c -> c.getState().equals("running")).toList();
        assertThat(mine).as("running containers named %s", name).hasSize(1);
        return mine.get(0);
    }
}
