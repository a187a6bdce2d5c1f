package gpufleet.host.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.HostConfig;
import gpufleet.common.api.HostDesired;
import gpufleet.common.api.HostWorkload;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.host.docker.DockerRuntime;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A route's pod port published on the host: real Docker, a real pause container and busybox httpd,
 * the reconciler driven by hand-made desired lists (as the control-api will send them for routes).
 */
class PortRelayIT {
    static final String TENANT = "skg00000";
    static DockerClient docker;
    static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @TempDir
    Path state;
    TestEngine.Wired wired;
    DockerRuntime runtime;
    PortRelay relay;
    Reconciler reconciler;

    @BeforeAll
    static void docker() {
        docker = TestEngine.client();
    }

    @AfterAll
    static void closeDocker() throws Exception {
        docker.close();
    }

    @BeforeEach
    void start() {
        removeAll();
        wired = TestEngine.Wired.host("relay-host", state);
        runtime = wired.runtime();
        relay = wired.relay();
        reconciler = wired.reconciler();
    }

    @AfterEach
    void stop() {
        wired.close();
        removeAll();
    }

    private static void removeAll() {
        TestEngine.removeManaged(docker);
    }

    /** The seed's example pod: busybox httpd answering "It works!" on 8080. */
    private static HostWorkload inference(UUID id, List<Integer> publish, boolean stop) {
        WorkloadSpec.Container web = new WorkloadSpec.Container("web", "gpufleet/busybox:test", "IfNotPresent",
                List.of("sh", "-c", "mkdir -p /www && echo 'It works!' > /www/index.html && exec httpd -f -p 8080 -h /www"),
                null, null, List.of(new WorkloadSpec.Port("http", 8080, "TCP")), new WorkloadSpec.Resources(0, "250m", "32Mi"),
                null, null, null, null);
        WorkloadSpec spec = new WorkloadSpec("uid-" + id, "default", "inference", "seeweb-nvidia-1xa6000", List.of(web), "Always", 1L,
                List.of());
        return new HostWorkload(id, TENANT, "uid-" + id, "default", "inference", spec, Map.of(), stop, publish);
    }

    private PodRunner.Outcome reconcile(HostWorkload w) throws Exception {
        return reconciler.reconcile(new HostDesired(1, List.of(w))).get(w.id());
    }

    private static String get(String published) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://" + published + "/"))
                .timeout(Duration.ofSeconds(3)).build(), HttpResponse.BodyHandlers.ofString());
        return r.statusCode() + " " + r.body().trim();
    }

    private static void awaitAnswer(String published) {
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
                .until(() -> get(published).equals("200 It works!"));
    }

    private static boolean refused(String published) {
        int port = Integer.parseInt(published.substring(published.lastIndexOf(':') + 1));
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            return false;
        } catch (ConnectException e) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * A container of nobody's pod (the tests remove it by its label) on the tenant network: Docker
     * hands out the lowest free address, so it takes the one a killed sandbox left.
     */
    private static void squat() {
        String id = docker.createContainerCmd("gpufleet/pause:test").withName("gf-squatter-" + UUID.randomUUID())
                .withLabels(Map.of("org.gpufleet.managed", "true"))
                .withHostConfig(HostConfig.newHostConfig().withNetworkMode(TenantNetworks.name(TENANT)))
                .exec().getId();
        docker.startContainerCmd(id).exec();
    }

    private static String pauseAddress(UUID id) {
        return docker.inspectContainerCmd("gf-" + id + "-pod").exec().getNetworkSettings().getNetworks()
                .get(TenantNetworks.name(TENANT)).getIpAddress();
    }

    @Test
    void aRoutedPortAnswersOnTheHostKeepsItsPortAcrossPassesAndSandboxRestartsAndClosesWhenNoLongerRouted() throws Exception {
        UUID id = UUID.randomUUID();
        HostWorkload routed = inference(id, List.of(8080), false);
        PodRunner.Outcome first = reconcile(routed);
        assertThat(first.ports()).containsOnlyKeys("8080");
        String published = first.ports().get("8080");
        assertThat(published).matches("127\\.0\\.0\\.1:[0-9]+");
        awaitAnswer(published);
        System.out.println("PortRelayIT: pod " + pauseAddress(id) + ":8080 published on " + published);

        assertThat(reconcile(routed).ports()).as("a second pass keeps the mapping").containsExactly(Map.entry("8080", published));

        String before = pauseAddress(id);
        docker.killContainerCmd("gf-" + id + "-pod").exec();
        squat(); // so that the new sandbox gets another address, and the relay must follow it
        PodRunner.Outcome recreated = reconcile(routed);
        assertThat(recreated.ports()).as("the sandbox is recreated, the port stays").containsExactly(Map.entry("8080", published));
        assertThat(pauseAddress(id)).isNotEqualTo(before);
        awaitAnswer(published);
        System.out.println("PortRelayIT: sandbox recreated, " + before + " -> " + pauseAddress(id) + ", still on " + published);

        PodRunner.Outcome unrouted = reconcile(inference(id, List.of(), false));
        assertThat(unrouted.ports()).isEmpty();
        assertThat(unrouted.statuses()).extracting(s -> s.state()).containsExactly("running");
        assertThat(refused(published)).as("no listener once the route is gone").isTrue();

        String again = reconcile(routed).ports().get("8080");
        awaitAnswer(again);
        reconciler.reconcile(new HostDesired(2, List.of()));
        assertThat(refused(again)).as("no listener once the workload left this host").isTrue();
    }

    @Test
    void stoppingTheWorkloadClosesItsPublishedPortAndItsOpenConnections() throws Exception {
        UUID id = UUID.randomUUID();
        String published = reconcile(inference(id, List.of(8080), false)).ports().get("8080");
        awaitAnswer(published);
        int port = Integer.parseInt(published.substring(published.lastIndexOf(':') + 1));
        try (Socket open = new Socket(InetAddress.getLoopbackAddress(), port)) {
            open.setSoTimeout(10_000);
            PodRunner.Outcome stopped = reconcile(inference(id, List.of(8080), true));
            assertThat(stopped.gone()).isTrue();
            assertThat(stopped.ports()).isEmpty();
            assertThat(open.getInputStream().read()).as("the open connection is closed").isEqualTo(-1);
        }
        assertThat(refused(published)).isTrue();
    }
}
