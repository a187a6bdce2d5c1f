package gpufleet.tenant;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesList;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The install manifests parse, and their RBAC grants what the agent does, and no more. */
class ManifestsTest {
    @Test
    void theManifestsParseAndGrantWhatTheAgentUses() throws Exception {
        List<HasMetadata> objects;
        try (InputStream in = Files.newInputStream(Path.of("deploy/tenant-agent.yaml"))) {
            Object parsed = new KubernetesSerialization().unmarshal(in);
            objects = parsed instanceof KubernetesList l ? l.getItems()
                    : parsed instanceof List<?> list ? list.stream().map(HasMetadata.class::cast).toList()
                    : List.of((HasMetadata) parsed);
        }
        assertThat(objects).extracting(HasMetadata::getKind)
                .containsExactly("Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Deployment");
        ClusterRole role = (ClusterRole) objects.get(2);
        assertThat(allowed(role, "", "pods", "delete")).isTrue();
        assertThat(allowed(role, "", "pods", "create")).as("the agent never creates pods").isFalse();
        assertThat(allowed(role, "", "pods/status", "update")).isTrue();
        assertThat(allowed(role, "", "secrets", "get")).isTrue();
        assertThat(allowed(role, "", "secrets", "update")).as("read only").isFalse();
        assertThat(allowed(role, "", "nodes/status", "update")).isTrue();
        assertThat(allowed(role, "node.k8s.io", "runtimeclasses", "delete")).isTrue();
        assertThat(allowed(role, "coordination.k8s.io", "leases", "update")).isTrue();
        assertThat(allowed(role, "", "events", "create")).isTrue();
        assertThat(allowed(role, "", "services/status", "update")).isTrue();
        // The kubelet API: authenticating and authorizing its callers, and its serving certificate.
        assertThat(allowed(role, "authentication.k8s.io", "tokenreviews", "create")).isTrue();
        assertThat(allowed(role, "authorization.k8s.io", "subjectaccessreviews", "create")).isTrue();
        assertThat(allowed(role, "certificates.k8s.io", "certificatesigningrequests", "create")).isTrue();
        assertThat(allowed(role, "certificates.k8s.io", "certificatesigningrequests/approval", "update")).isTrue();
        assertThat(role.getRules()).anySatisfy(r -> {
            assertThat(r.getResources()).containsExactly("signers");
            assertThat(r.getResourceNames()).containsExactly("kubernetes.io/kubelet-serving");
            assertThat(r.getVerbs()).containsExactly("approve");
        });
        Deployment d = (Deployment) objects.get(4);
        var c = d.getSpec().getTemplate().getSpec().getContainers().get(0);
        assertThat(c.getArgs()).containsExactly("run");
        assertThat(c.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
        assertThat(c.getPorts()).anySatisfy(p -> assertThat(p.getContainerPort()).isEqualTo(10250));
    }

    private static boolean allowed(ClusterRole role, String group, String resource, String verb) {
        for (PolicyRule r : role.getRules()) {
            if (r.getApiGroups().contains(group) && r.getResources().contains(resource) && r.getVerbs().contains(verb)) {
                return true;
            }
        }
        return false;
    }
}
