package gpufleet.host.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.NotFoundException;
import gpufleet.common.api.ContainerStatus;
import gpufleet.common.api.HostDesired;
import gpufleet.common.api.HostWorkload;
import gpufleet.common.api.WorkloadSpec;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An image pulled with one tenant's registry credentials, on real Docker and the private
 * registry of dev/services.sh (basic auth): another tenant's pod runs it only with credentials the
 * registry accepts, whatever its pull policy, and across an agent restart.
 */
class PrivateImageIT {
    static final String REGISTRY = "127.0.0.1:5000";
    /** Content of its own (a unique label), so that no public copy of it is on the host. */
    static final String IMAGE = REGISTRY + "/gpufleet/private-" + UUID.randomUUID().toString().substring(0, 8) + ":test";
    static final WorkloadSpec.PullSecret GOOD = new WorkloadSpec.PullSecret(REGISTRY, "gpufleet", "gpufleet-pull");
    static final WorkloadSpec.PullSecret WRONG = new WorkloadSpec.PullSecret(REGISTRY, "gpufleet", "guessed");
    static DockerClient docker;

    @TempDir
    Path state;

    @BeforeAll
    static void privateImage(@TempDir Path build) throws Exception {
        docker = TestEngine.client();
        TestEngine.removeManaged(docker);
        java.nio.file.Files.writeString(build.resolve("Dockerfile"),
                "FROM gpufleet/busybox:test\nLABEL org.gpufleet.test.private=\"" + IMAGE + "\"\n");
        docker.buildImageCmd(build.toFile()).withTags(java.util.Set.of(IMAGE)).start().awaitImageId();
        docker.pushImageCmd(IMAGE).withAuthConfig(new com.github.dockerjava.api.model.AuthConfig().withUsername(GOOD.username())
                .withPassword(GOOD.password()).withRegistryAddress(REGISTRY)).start().awaitCompletion(2, java.util.concurrent.TimeUnit.MINUTES);
        docker.removeImageCmd(IMAGE).withForce(true).exec();
    }

    @AfterAll
    static void closeDocker() throws Exception {
        TestEngine.removeManaged(docker);
        try {
            docker.removeImageCmd(IMAGE).withForce(true).exec();
        } catch (NotFoundException e) {
            // a test that failed early never pulled it
        }
        docker.close();
    }

    @Test
    void anImagePulledWithATenantsCredentialsRunsForNoOneWithoutThem() throws Exception {
        assertThatThrownBy(() -> docker.inspectImageCmd(IMAGE).exec()).as("pushed, then removed here").isInstanceOf(NotFoundException.class);
        try (TestEngine.Wired host = TestEngine.Wired.host("private-host", state)) {
            ContainerStatus owner = run(host, "tenanta", "IfNotPresent", List.of(GOOD));
            assertThat(owner.state()).as("%s", owner).isEqualTo("running");
            assertThat(owner.imagePullMillis()).as("the owner's pod pulled it").isNotNull();

            assertRefused(run(host, "tenantb", "IfNotPresent", List.of()), "ErrImagePull");
            assertRefused(run(host, "tenantb", "Always", List.of()), "ErrImagePull");
            assertRefused(run(host, "tenantb", "IfNotPresent", List.of(WRONG)), "ErrImagePull");
            assertRefused(run(host, "tenantb", "Never", List.of()), "ErrImageNeverPull");

            ContainerStatus sameCredentials = run(host, "tenantc", "IfNotPresent", List.of(GOOD));
            assertThat(sameCredentials.state()).isEqualTo("running");
            assertThat(sameCredentials.imagePullMillis()).as("credentials that pulled it use the copy here").isNull();
        }
        // A restarted agent remembers who pulled it.
        try (TestEngine.Wired restarted = TestEngine.Wired.host("private-host", state)) {
            assertRefused(run(restarted, "tenantb", "IfNotPresent", List.of()), "ErrImagePull");
        }
    }

    @Test
    void anImageTheOperatorPutOnTheHostIsEveryones() throws Exception {
        try (TestEngine.Wired host = TestEngine.Wired.host("private-host", state)) {
            ContainerStatus s = run(host, "tenantb", "gpufleet/busybox:test", "IfNotPresent", List.of());
            assertThat(s.state()).as("gpufleet/busybox:test, built on this machine by dev/services.sh: %s", s).isEqualTo("running");
        }
    }

    static void assertRefused(ContainerStatus s, String reason) {
        assertThat(s.state()).as("%s", s).isEqualTo("waiting");
        assertThat(s.reason()).as("%s", s).isEqualTo(reason);
    }

    static ContainerStatus run(TestEngine.Wired host, String tenant, String policy, List<WorkloadSpec.PullSecret> secrets)
            throws Exception {
        return run(host, tenant, IMAGE, policy, secrets);
    }

    /** One reconcile pass of a one-container pod. */
    static ContainerStatus run(TestEngine.Wired host, String tenant, String image, String policy, List<WorkloadSpec.PullSecret> secrets)
            throws Exception {
        UUID id = UUID.randomUUID();
        WorkloadSpec.Container c = new WorkloadSpec.Container("app", image, policy, List.of("sleep", "300"), null, List.of(), null,
                new WorkloadSpec.Resources(0, "100m", "32Mi"), null, null, null, null);
        WorkloadSpec spec = new WorkloadSpec("uid-" + id, "default", "private", "seeweb-nvidia-1xa6000", List.of(c), "Never", 1L, secrets);
        HostWorkload w = new HostWorkload(id, tenant, "uid-" + id, "default", "private", spec, Map.of(), false, List.of());
        return host.reconciler().reconcile(new HostDesired(1, List.of(w))).get(id).statuses().get(0);
    }
}
