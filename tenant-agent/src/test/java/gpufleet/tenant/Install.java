package gpufleet.tenant;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesList;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/** The tenant install (deploy/) as kubectl's built-in Kustomize renders it: base or an overlay. */
public final class Install {
    public final List<HasMetadata> objects;

    private Install(List<HasMetadata> objects) {
        this.objects = objects;
    }

    /** {@code kubectl kustomize deploy/DIR}, e.g. "base" or "overlays/production". */
    public static Install render(String dir) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("kubectl", "kustomize", "deploy/" + dir).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("kubectl kustomize deploy/" + dir + " failed: " + new String(out));
        }
        Object parsed = new KubernetesSerialization().unmarshal(new ByteArrayInputStream(out));
        List<HasMetadata> objects = parsed instanceof KubernetesList l ? l.getItems()
                : parsed instanceof List<?> list ? list.stream().map(HasMetadata.class::cast).toList()
                : List.of((HasMetadata) parsed);
        return new Install(objects);
    }

    public <T extends HasMetadata> List<T> all(Class<T> kind) {
        return objects.stream().filter(kind::isInstance).map(kind::cast).toList();
    }

    public <T extends HasMetadata> T one(Class<T> kind) {
        List<T> found = all(kind);
        if (found.size() != 1) {
            throw new AssertionError("expected one " + kind.getSimpleName() + ", rendered " + found.size());
        }
        return found.get(0);
    }

    /** Every rule of the ClusterRoles bound to the agent's service account. */
    public List<PolicyRule> agentRules() {
        Set<String> bound = all(ClusterRoleBinding.class).stream()
                .filter(b -> b.getSubjects().stream().anyMatch(s -> "ServiceAccount".equals(s.getKind())
                        && "tenant-agent".equals(s.getName()) && "gpufleet-system".equals(s.getNamespace())))
                .map(b -> b.getRoleRef().getName()).collect(Collectors.toSet());
        List<PolicyRule> rules = new ArrayList<>();
        all(ClusterRole.class).stream().filter(r -> bound.contains(r.getMetadata().getName())).forEach(r -> rules.addAll(r.getRules()));
        return rules;
    }
}
