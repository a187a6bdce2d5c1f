package gpufleet.tenant;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The install (deploy/) as kubectl's Kustomize renders it: what the Deployment promises (probes on
 * the plain-HTTP health port, resources, a locked-down security context, the image of this
 * version), and where self-approval of the serving certificate is (only in its overlay). What the
 * RBAC allows is checked against the agent's real requests in RbacIT.
 */
class ManifestsTest {
    @Test
    void theProductionInstallRunsTheAgentLockedDownWithProbesOnTheHealthPort() throws Exception {
        Install install = Install.render("overlays/production");
        assertThat(install.objects).extracting(HasMetadata::getKind)
                .containsExactlyInAnyOrder("Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Deployment");
        assertThat(install.all(PodDisruptionBudget.class)).as("one replica: a budget would only block drains").isEmpty();
        Deployment d = install.one(Deployment.class);
        assertThat(d.getMetadata().getNamespace()).isEqualTo("gpufleet-system");
        assertThat(d.getSpec().getReplicas()).isEqualTo(1);
        assertThat(d.getSpec().getStrategy().getType()).isEqualTo("Recreate");
        PodSpec pod = d.getSpec().getTemplate().getSpec();
        assertThat(pod.getServiceAccountName()).isEqualTo("tenant-agent");
        assertThat(pod.getSecurityContext().getRunAsNonRoot()).isTrue();
        assertThat(pod.getSecurityContext().getRunAsUser()).isEqualTo(65532L);
        assertThat(pod.getSecurityContext().getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
        assertThat(pod.getImagePullSecrets()).extracting(s -> s.getName()).containsExactly("gpufleet-registry");
        Container c = pod.getContainers().get(0);
        assertThat(c.getImage()).isEqualTo("registry.provider.example/gpufleet/tenant-agent:" + projectVersion());
        assertThat(c.getArgs()).containsExactly("run");
        assertThat(c.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
        assertThat(c.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
        assertThat(c.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
        assertThat(c.getResources().getRequests()).containsKeys("cpu", "memory");
        assertThat(c.getResources().getLimits()).containsKey("memory");
        assertThat(c.getPorts()).extracting(p -> p.getName() + "=" + p.getContainerPort()).containsExactlyInAnyOrder("kubelet=10250", "health=8081");
        assertThat(env(c, "GPUFLEET_HEALTH_PORT")).isEqualTo("8081");
        assertThat(c.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/healthz");
        assertThat(c.getLivenessProbe().getHttpGet().getPort().getStrVal()).isEqualTo("health");
        assertThat(c.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/readyz");
        assertThat(c.getReadinessProbe().getHttpGet().getPort().getStrVal()).isEqualTo("health");
        assertThat(env(c, "GPUFLEET_KUBELET_CSR_SELF_APPROVE")).as("the cluster's approver approves by default").isNull();
        assertThat(install.agentRules()).noneMatch(r -> r.getResources().contains("certificatesigningrequests/approval")
                || r.getResources().contains("signers"));
    }

    @Test
    void selfApprovalIsTheOverlaysOptInWithItsRbac() throws Exception {
        Install install = Install.render("overlays/self-approve");
        Container c = install.one(Deployment.class).getSpec().getTemplate().getSpec().getContainers().get(0);
        assertThat(env(c, "GPUFLEET_KUBELET_CSR_SELF_APPROVE")).isEqualTo("true");
        assertThat(install.all(ClusterRole.class)).extracting(r -> r.getMetadata().getName())
                .containsExactlyInAnyOrder("gpufleet-tenant-agent", "gpufleet-tenant-agent-csr-approver");
        assertThat(install.agentRules()).anySatisfy(r -> {
            assertThat(r.getResources()).containsExactly("signers");
            assertThat(r.getResourceNames()).containsExactly("kubernetes.io/kubelet-serving");
            assertThat(r.getVerbs()).containsExactly("approve");
        });
    }

    @Test
    void theBaseNamesThisVersionsImage() throws Exception {
        Container c = Install.render("base").one(Deployment.class).getSpec().getTemplate().getSpec().getContainers().get(0);
        assertThat(c.getImage()).isEqualTo("gpufleet/tenant-agent:" + projectVersion());
    }

    private static String env(Container c, String name) {
        List<EnvVar> env = c.getEnv() == null ? List.of() : c.getEnv();
        return env.stream().filter(e -> e.getName().equals(name)).map(EnvVar::getValue).findFirst().orElse(null);
    }

    /** The project's version, from the root pom (the image tag must follow a release). */
    static String projectVersion() throws Exception {
        Matcher m = Pattern.compile("<artifactId>gpufleet</artifactId>\\s*<version>([^<]+)</version>")
                .matcher(Files.readString(Path.of("../pom.xml")));
        assertThat(m.find()).as("the root pom's version").isTrue();
        return m.group(1);
    }
}
