package gpufleet.host.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.Network;
import gpufleet.common.api.HostCondition;
import gpufleet.common.api.HostDesired;
import gpufleet.common.api.HostWorkload;
import gpufleet.common.api.WorkloadSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two same-named networks of one tenant, made on purpose before the agent starts (Docker allows
 * it; a race or an older agent leaves them): the tenant's pods and another tenant's all run, the
 * spares are removed once empty, and the duplicate is said once, as a host condition.
 */
class NetworkDuplicatesIT {
    private static final String DUP = "dupnet00";
    private static final String OTHER = "dupnet01";
    static DockerClient docker;

    @TempDir
    Path state;
    TestEngine.Wired wired;
    TenantNetworks networks;
    final Map<UUID, PodRunner.Outcome> reported = new ConcurrentHashMap<>();
    final List<String> standIns = new ArrayList<>();

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
        TestEngine.removeManaged(docker);
        removeNetworks();
        wired = TestEngine.Wired.host("dupnet-01", state, "gpufleet/pause:test", reported::put);
        networks = wired.networks();
    }

    @AfterEach
    void stop() {
        wired.close();
        TestEngine.removeManaged(docker);
        standIns.forEach(id -> docker.removeContainerCmd(id).withForce(true).exec());
        removeNetworks();
    }

    private static void removeNetworks() {
        for (String tenant : List.of(DUP, OTHER)) {
            for (Network n : tenantNetworks(tenant)) {
                docker.removeNetworkCmd(n.getId()).exec();
            }
        }
    }

    private static List<Network> tenantNetworks(String tenant) {
        return docker.listNetworksCmd().withFilter("label", List.of(Labels.TENANT + "=" + tenant)).exec();
    }

    /** A network named and labelled as the tenant's, made without a duplicate check, as a race makes one. */
    private static String sameNamed(Map<String, String> options) {
        return docker.createNetworkCmd().withName(TenantNetworks.name(DUP)).withDriver("bridge").withCheckDuplicate(false)
                .withLabels(Map.of(Labels.MANAGED, "true", Labels.TENANT, DUP)).withOptions(options).exec().getId();
    }

    private static HostWorkload pod(String tenant) {
        UUID id = UUID.randomUUID();
        WorkloadSpec.Container c = new WorkloadSpec.Container("main", "gpufleet/busybox:test", "IfNotPresent", List.of("sleep", "600"),
                null, null, null, new WorkloadSpec.Resources(0, "50m", "32Mi", null), null, null, null, null);
        WorkloadSpec spec = new WorkloadSpec("uid-" + id, "default", "dup", "seeweb-nvidia-1xa6000", List.of(c), "Always", 1L, List.of());
        return new HostWorkload(id, tenant, "uid-" + id, "default", "dup", spec, Map.of(), false, List.of());
    }

    private boolean running(HostWorkload w) {
        PodRunner.Outcome o = reported.get(w.id());
        return o != null && !o.statuses().isEmpty() && o.statuses().get(0).state().equals("running");
    }

    @Test
    void duplicateTenantNetworksHoldUpNoPodAndTheSpareGoesOnceEmpty() throws Exception {
        // Made as an older agent made them: without the bridge name the pod firewall gives.
        String busySpare = sameNamed(Map.of("com.docker.network.bridge.enable_icc", "false"));
        // An older pod on it, started while its name was still unique.
        String standIn = docker.createContainerCmd("gpufleet/busybox:test").withCmd("sleep", "600")
                .withHostConfig(HostConfig.newHostConfig().withNetworkMode(busySpare)).exec().getId();
        standIns.add(standIn);
        docker.startContainerCmd(standIn).exec();
        String emptySpare = sameNamed(Map.of("com.docker.network.bridge.enable_icc", "false"));
        assertThat(tenantNetworks(DUP)).as("two networks answer to %s", TenantNetworks.name(DUP)).hasSize(2);

        List<HostWorkload> burst = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            burst.add(pod(DUP));
            burst.add(pod(OTHER));
        }
        wired.reconciler().reconcile(new HostDesired(1, burst));
        assertThat(burst).as("every pod of both tenants runs: %s", reported).allMatch(this::running);

        List<Network> now = tenantNetworks(DUP);
        assertThat(now).extracting(Network::getId).as("the empty spare removed, the busy one kept").contains(busySpare)
                .doesNotContain(emptySpare).hasSize(2);
        String serving = now.stream().map(Network::getId).filter(id -> !id.equals(busySpare)).findFirst().orElseThrow();
        for (HostWorkload w : burst.stream().filter(w -> w.tenant().equals(DUP)).toList()) {
            assertThat(docker.inspectContainerCmd(Labels.sandboxName(w.id().toString())).exec().getHostConfig().getNetworkMode())
                    .as("pod %s joined by id the network made with the firewall's bridge", w.id()).isEqualTo(serving);
        }
        HostCondition c = networks.condition();
        assertThat(c.status()).isEqualTo("False");
        assertThat(c.reason()).isEqualTo("DuplicateNetworks");
        assertThat(c.message()).contains(DUP).contains(busySpare.substring(0, 12));

        docker.removeContainerCmd(standIn).withForce(true).exec();
        standIns.remove(standIn);
        await("the spare removed once empty").atMost(Duration.ofSeconds(60)).until(() -> {
            wired.reconciler().reconcile(new HostDesired(2, burst));
            return networks.condition().status().equals("True");
        });
        assertThat(tenantNetworks(DUP)).extracting(Network::getId).containsExactly(serving);
        assertThat(burst).allMatch(this::running);
    }
}
