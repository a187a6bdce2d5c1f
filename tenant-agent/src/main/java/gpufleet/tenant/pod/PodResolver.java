package gpufleet.tenant.pod;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.common.Invalid;
import gpufleet.common.Json;
import gpufleet.common.api.WorkloadSpec;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.DownwardAPIVolumeFile;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.KeyToPath;
import io.fabric8.kubernetes.api.model.LocalObjectReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeProjection;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Resolves what a pod references, as the kubelet does before starting it: env from values,
 * ConfigMaps, Secrets and the downward API; ConfigMap, Secret and projected volumes as files;
 * image pull secrets. A missing non-optional reference is a {@link Missing} with the kubelet's
 * words, and the pod waits.
 */
public final class PodResolver {
    /** What a pod needs resolved, per container. */
    public record Resolved(Map<String, List<WorkloadSpec.EnvVar>> env, Map<String, List<WorkloadSpec.FileMount>> files,
                           List<WorkloadSpec.PullSecret> pullSecrets) {}

    /** A reference that cannot be resolved: CreateContainerConfigError and the reason. */
    public static final class Missing extends Exception {
        Missing(String message) {
            super(message, null, false, false);
        }
    }

    private final KubernetesClient k8s;
    private final String hostIp;

    public PodResolver(KubernetesClient k8s, String hostIp) {
        this.k8s = k8s;
        this.hostIp = hostIp;
    }

    public Resolved resolve(Pod pod) throws Missing {
        String ns = pod.getMetadata().getNamespace();
        Map<String, List<WorkloadSpec.EnvVar>> env = new LinkedHashMap<>();
        Map<String, List<WorkloadSpec.FileMount>> files = new LinkedHashMap<>();
        Map<String, Volume> volumes = new HashMap<>();
        if (pod.getSpec().getVolumes() != null) {
            pod.getSpec().getVolumes().forEach(v -> volumes.put(v.getName(), v));
        }
        List<Container> all = new ArrayList<>(pod.getSpec().getContainers());
        if (pod.getSpec().getInitContainers() != null) {
            all.addAll(pod.getSpec().getInitContainers());
        }
        for (Container c : all) {
            env.put(c.getName(), env(pod, c, ns));
            List<WorkloadSpec.FileMount> mounts = new ArrayList<>();
            for (VolumeMount m : c.getVolumeMounts() == null ? List.<VolumeMount>of() : c.getVolumeMounts()) {
                Volume v = volumes.get(m.getName());
                if (v == null) {
                    throw new Missing("container \"" + c.getName() + "\" mounts volume \"" + m.getName() + "\", which the pod does not define");
                }
                mounts.addAll(files(pod, v, m, ns));
            }
            files.put(c.getName(), mounts);
        }
        List<WorkloadSpec.PullSecret> pull = new ArrayList<>();
        for (LocalObjectReference ref : pod.getSpec().getImagePullSecrets() == null ? List.<LocalObjectReference>of()
                : pod.getSpec().getImagePullSecrets()) {
            pull.addAll(pullSecrets(ns, ref.getName()));
        }
        return new Resolved(env, files, pull);
    }

    private List<WorkloadSpec.EnvVar> env(Pod pod, Container c, String ns) throws Missing {
        List<WorkloadSpec.EnvVar> out = new ArrayList<>();
        for (EnvFromSource from : c.getEnvFrom() == null ? List.<EnvFromSource>of() : c.getEnvFrom()) {
            String prefix = from.getPrefix() == null ? "" : from.getPrefix();
            if (from.getConfigMapRef() != null) {
                Map<String, byte[]> data = configMap(ns, from.getConfigMapRef().getName(), from.getConfigMapRef().getOptional());
                data.forEach((k, v) -> out.add(new WorkloadSpec.EnvVar(prefix + k, new String(v, StandardCharsets.UTF_8))));
            }
            if (from.getSecretRef() != null) {
                Map<String, byte[]> data = secret(ns, from.getSecretRef().getName(), from.getSecretRef().getOptional());
                data.forEach((k, v) -> out.add(new WorkloadSpec.EnvVar(prefix + k, new String(v, StandardCharsets.UTF_8))));
            }
        }
        for (EnvVar e : c.getEnv() == null ? List.<EnvVar>of() : c.getEnv()) {
            String value = e.getValue();
            var from = e.getValueFrom();
            if (from != null && from.getConfigMapKeyRef() != null) {
                var ref = from.getConfigMapKeyRef();
                byte[] v = configMap(ns, ref.getName(), ref.getOptional()).get(ref.getKey());
                if (v == null && !Boolean.TRUE.equals(ref.getOptional())) {
                    throw new Missing("couldn't find key " + ref.getKey() + " in configmap " + ref.getName());
                }
                value = v == null ? null : new String(v, StandardCharsets.UTF_8);
            } else if (from != null && from.getSecretKeyRef() != null) {
                var ref = from.getSecretKeyRef();
                Map<String, byte[]> data = secret(ns, ref.getName(), ref.getOptional());
                byte[] v = data.get(ref.getKey());
                if (v == null && !Boolean.TRUE.equals(ref.getOptional())) {
                    throw new Missing("couldn't find key " + ref.getKey() + " in Secret " + ns + "/" + ref.getName());
                }
                value = v == null ? null : new String(v, StandardCharsets.UTF_8);
            } else if (from != null && from.getFieldRef() != null) {
                value = field(pod, from.getFieldRef().getFieldPath());
            } else if (from != null && from.getResourceFieldRef() != null) {
                throw new Missing("env " + e.getName() + ": resourceFieldRef is not supported on k8s.gpu; set the value");
            } else {
                value = Expansion.expand(value, Expansion.variables(out)); // as the kubelet: only what is defined above
            }
            if (value != null) {
                out.add(new WorkloadSpec.EnvVar(e.getName(), value));
            }
        }
        return out;
    }

    private List<WorkloadSpec.FileMount> files(Pod pod, Volume v, VolumeMount m, String ns) throws Missing {
        Map<String, byte[]> content = new LinkedHashMap<>();
        Map<String, Integer> modes = new HashMap<>();
        int defaultMode = 0644;
        if (v.getConfigMap() != null) {
            defaultMode = v.getConfigMap().getDefaultMode() == null ? 0644 : v.getConfigMap().getDefaultMode();
            project(configMap(ns, v.getConfigMap().getName(), v.getConfigMap().getOptional()), v.getConfigMap().getItems(),
                    content, modes, "ConfigMap " + v.getConfigMap().getName());
        } else if (v.getSecret() != null) {
            defaultMode = v.getSecret().getDefaultMode() == null ? 0644 : v.getSecret().getDefaultMode();
            project(secret(ns, v.getSecret().getSecretName(), v.getSecret().getOptional()), v.getSecret().getItems(),
                    content, modes, "Secret " + v.getSecret().getSecretName());
        } else if (v.getProjected() != null) {
            defaultMode = v.getProjected().getDefaultMode() == null ? 0644 : v.getProjected().getDefaultMode();
            for (VolumeProjection p : v.getProjected().getSources()) {
                if (p.getConfigMap() != null) {
                    project(configMap(ns, p.getConfigMap().getName(), p.getConfigMap().getOptional()), p.getConfigMap().getItems(),
                            content, modes, "ConfigMap " + p.getConfigMap().getName());
                } else if (p.getSecret() != null) {
                    project(secret(ns, p.getSecret().getName(), p.getSecret().getOptional()), p.getSecret().getItems(),
                            content, modes, "Secret " + p.getSecret().getName());
                } else if (p.getDownwardAPI() != null) {
                    downward(pod, p.getDownwardAPI().getItems(), content, modes);
                } else if (p.getClusterTrustBundle() != null) {
                    throw new Missing("volume \"" + v.getName() + "\": clusterTrustBundle projections are not supported on k8s.gpu yet");
                }
                // A service account token would only let the pod call the cluster's API server, which
                // pods on k8s.gpu cannot reach: it is left out, as the cluster's CA is kept.
            }
        } else if (v.getDownwardAPI() != null) {
            defaultMode = v.getDownwardAPI().getDefaultMode() == null ? 0644 : v.getDownwardAPI().getDefaultMode();
            downward(pod, v.getDownwardAPI().getItems(), content, modes);
        } else if (v.getEmptyDir() != null) {
            return List.of(); // each container has its own writable filesystem
        } else {
            throw new Missing("volume \"" + v.getName() + "\": only configMap, secret, projected, downwardAPI and emptyDir volumes "
                    + "work on k8s.gpu");
        }
        List<WorkloadSpec.FileMount> out = new ArrayList<>();
        if (m.getSubPath() != null && !m.getSubPath().isEmpty()) {
            // A key mounted alone: it never changes while the container runs, as on a kubelet.
            byte[] key = content.get(m.getSubPath());
            if (key != null) {
                out.add(new WorkloadSpec.FileMount(m.getMountPath(), modes.getOrDefault(m.getSubPath(), defaultMode),
                        Base64.getEncoder().encodeToString(key)));
            }
            return out;
        }
        // The whole volume: its directory (there even with no key yet), then each key; the host keeps them following the objects.
        String volume = plain(m.getMountPath());
        try {
            out.add(new WorkloadSpec.FileMount(volume, null, "", volume));
            for (var e : content.entrySet()) {
                out.add(new WorkloadSpec.FileMount(volume + "/" + e.getKey(), modes.getOrDefault(e.getKey(), defaultMode),
                        Base64.getEncoder().encodeToString(e.getValue()), volume));
            }
        } catch (Invalid e) {
            throw new Missing("volume \"" + v.getName() + "\" at " + m.getMountPath() + ": " + e.getMessage());
        }
        return out;
    }

    /** A mount path without empty or '.' parts ("/etc//app/" is "/etc/app"), as the host expects a volume's. */
    private static String plain(String mountPath) {
        StringBuilder out = new StringBuilder();
        for (String part : mountPath.split("/")) {
            if (!part.isEmpty() && !part.equals(".")) {
                out.append('/').append(part);
            }
        }
        return out.length() == 0 ? "/" : out.toString();
    }

    private static void project(Map<String, byte[]> data, List<KeyToPath> items, Map<String, byte[]> content,
                                Map<String, Integer> modes, String what) throws Missing {
        if (items == null || items.isEmpty()) {
            content.putAll(data);
            return;
        }
        for (KeyToPath item : items) {
            byte[] v = data.get(item.getKey());
            if (v == null) {
                throw new Missing("couldn't find key " + item.getKey() + " in " + what);
            }
            content.put(item.getPath(), v);
            if (item.getMode() != null) {
                modes.put(item.getPath(), item.getMode());
            }
        }
    }

    /**
     * A ConfigMap's keys as bytes: {@code data} as UTF-8, {@code binaryData} exactly as decoded (a
     * round trip through a String would turn every invalid UTF-8 sequence into U+FFFD).
     */
    private Map<String, byte[]> configMap(String ns, String name, Boolean optional) throws Missing {
        ConfigMap cm = k8s.configMaps().inNamespace(ns).withName(name).get();
        if (cm == null) {
            if (Boolean.TRUE.equals(optional)) {
                return Map.of();
            }
            throw new Missing("configmap \"" + name + "\" not found");
        }
        Map<String, byte[]> data = new LinkedHashMap<>();
        if (cm.getData() != null) {
            cm.getData().forEach((k, v) -> data.put(k, v.getBytes(StandardCharsets.UTF_8)));
        }
        if (cm.getBinaryData() != null) {
            cm.getBinaryData().forEach((k, v) -> data.put(k, Base64.getDecoder().decode(v)));
        }
        return data;
    }

    private Map<String, byte[]> secret(String ns, String name, Boolean optional) throws Missing {
        Secret s = k8s.secrets().inNamespace(ns).withName(name).get();
        if (s == null) {
            if (Boolean.TRUE.equals(optional)) {
                return Map.of();
            }
            throw new Missing("secret \"" + name + "\" not found");
        }
        Map<String, byte[]> data = new LinkedHashMap<>();
        if (s.getData() != null) {
            s.getData().forEach((k, v) -> data.put(k, Base64.getDecoder().decode(v)));
        }
        if (s.getStringData() != null) {
            s.getStringData().forEach((k, v) -> data.put(k, v.getBytes(StandardCharsets.UTF_8)));
        }
        return data;
    }

    /** Downward API files (a downwardAPI volume or projection): pod fields; resource fields are not offered. */
    private void downward(Pod pod, List<DownwardAPIVolumeFile> items, Map<String, byte[]> content, Map<String, Integer> modes)
            throws Missing {
        for (DownwardAPIVolumeFile item : items == null ? List.<DownwardAPIVolumeFile>of() : items) {
            if (item.getFieldRef() == null) {
                throw new Missing("downward API file " + item.getPath() + ": resourceFieldRef is not supported on k8s.gpu; use fieldRef");
            }
            content.put(item.getPath(), field(pod, item.getFieldRef().getFieldPath()).getBytes(StandardCharsets.UTF_8));
            if (item.getMode() != null) {
                modes.put(item.getPath(), item.getMode());
            }
        }
    }

    /** The downward API fields that make sense for a pod running at the provider. */
    private String field(Pod pod, String path) throws Missing {
        var md = pod.getMetadata();
        if (path.startsWith("metadata.labels['") || path.startsWith("metadata.annotations['")) {
            String key = path.substring(path.indexOf("['") + 2, path.length() - 2);
            Map<String, String> map = path.startsWith("metadata.labels") ? md.getLabels() : md.getAnnotations();
            return map == null ? "" : map.getOrDefault(key, "");
        }
        return switch (path) {
            case "metadata.name" -> md.getName();
            case "metadata.namespace" -> md.getNamespace();
            case "metadata.uid" -> md.getUid();
            case "spec.nodeName" -> pod.getSpec().getNodeName();
            case "spec.serviceAccountName" -> String.valueOf(pod.getSpec().getServiceAccountName());
            case "status.hostIP", "status.podIP" -> hostIp;
            default -> throw new Missing("fieldRef " + path + " is not available on k8s.gpu");
        };
    }

    /** Registry credentials from a kubernetes.io/dockerconfigjson (or legacy dockercfg) Secret. */
    private List<WorkloadSpec.PullSecret> pullSecrets(String ns, String name) throws Missing {
        Map<String, byte[]> data = secret(ns, name, false);
        byte[] json = data.containsKey(".dockerconfigjson") ? data.get(".dockerconfigjson") : data.get(".dockercfg");
        if (json == null) {
            throw new Missing("imagePullSecret \"" + name + "\" has no .dockerconfigjson");
        }
        List<WorkloadSpec.PullSecret> out = new ArrayList<>();
        try {
            JsonNode root = Json.mapper().readTree(json);
            JsonNode auths = root.has("auths") ? root.get("auths") : root;
            for (var it = auths.fields(); it.hasNext(); ) {
                var e = it.next();
                String user = e.getValue().path("username").asText(null);
                String pass = e.getValue().path("password").asText(null);
                if ((user == null || pass == null) && e.getValue().has("auth")) {
                    String[] up = new String(Base64.getDecoder().decode(e.getValue().get("auth").asText()), StandardCharsets.UTF_8).split(":", 2);
                    user = up[0];
                    pass = up.length > 1 ? up[1] : "";
                }
                if (user != null && pass != null) {
                    out.add(new WorkloadSpec.PullSecret(e.getKey(), user, pass));
                }
            }
        } catch (IOException | IllegalArgumentException e) {
            throw new Missing("imagePullSecret \"" + name + "\" is not valid docker config JSON: " + e.getMessage());
        }
        return out;
    }
}
