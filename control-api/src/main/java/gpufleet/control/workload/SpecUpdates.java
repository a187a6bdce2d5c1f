package gpufleet.control.workload;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import gpufleet.common.Json;
import gpufleet.common.api.WorkloadSpec;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * What a running pod's spec may change, as the API server allows it: the images of its containers
 * and init containers, and activeDeadlineSeconds (set, or shortened). Anything else is refused
 * naming the first field that differs; the API server refuses such an update before it reaches
 * the agent, so only a tampered or buggy agent sends one. The values an agent resolves from the
 * cluster's ConfigMaps and Secrets (env, files, pull credentials) are not compared: they drift
 * when those objects change. As on a kubelet, a running pod keeps the env and pull credentials
 * and the files mounted alone (subPath) it started with, and its volumes' files follow their
 * objects (see {@link #applied}); which volumes a container mounts does not change.
 */
final class SpecUpdates {
    static final String RULE = "pod updates may not change fields other than spec.containers[*].image, "
            + "spec.initContainers[*].image and spec.activeDeadlineSeconds";

    private SpecUpdates() {}

    /** Why {@code next} may not replace {@code stored}; null when it may. Both are the stored (clear) form. */
    static String refusal(WorkloadSpec stored, WorkloadSpec next) {
        String changed = difference(comparable(stored), comparable(next), "spec");
        if (changed != null) {
            return RULE + "; " + changed + " changed";
        }
        for (int i = 0; i < stored.allContainers().size(); i++) {
            WorkloadSpec.Container c = stored.allContainers().get(i);
            if (!volumes(c).isEmpty() && !volumes(c).equals(volumes(next.allContainers().get(i)))) {
                return RULE + "; the volumes container " + c.name() + " mounts changed (volumeMounts)";
            }
        }
        Long was = stored.activeDeadlineSeconds();
        Long now = next.activeDeadlineSeconds();
        if (was != null && (now == null || now > was)) {
            return "spec.activeDeadlineSeconds may be set or decreased, not " + (now == null ? "removed" : "increased")
                    + " (was " + was + ")";
        }
        return null;
    }

    /**
     * {@code stored} with what an update changes taken from {@code next} (which {@link #refusal}
     * let through): the images, the deadline and the files of the containers' volumes. Both are
     * opened (secret values in clear). Env, pull credentials and files mounted alone stay as at
     * creation, as a running pod's env does when its ConfigMap changes.
     */
    static WorkloadSpec applied(WorkloadSpec stored, WorkloadSpec next) {
        ObjectNode n = Json.mapper().valueToTree(stored);
        ObjectNode from = Json.mapper().valueToTree(next);
        for (String list : new String[] {"containers", "initContainers"}) {
            for (int i = 0; i < n.path(list).size(); i++) {
                ((ObjectNode) n.path(list).get(i)).set("image", from.path(list).get(i).get("image"));
            }
        }
        if (next.activeDeadlineSeconds() != null) {
            n.put("activeDeadlineSeconds", next.activeDeadlineSeconds());
        }
        WorkloadSpec s = Json.mapper().convertValue(n, WorkloadSpec.class);
        List<WorkloadSpec.Container> all = new ArrayList<>();
        for (int i = 0; i < s.allContainers().size(); i++) {
            WorkloadSpec.Container c = s.allContainers().get(i);
            List<WorkloadSpec.FileMount> sent = next.allContainers().get(i).files().stream().filter(f -> f.volume() != null).toList();
            if (volumes(c).isEmpty() || sent.equals(c.files().stream().filter(f -> f.volume() != null).toList())) {
                // Unchanged, kept in its order; or mounted one file at a time (sent by an agent before volumes), which cannot follow.
                all.add(c);
                continue;
            }
            List<WorkloadSpec.FileMount> files = new ArrayList<>(c.files().stream().filter(f -> f.volume() == null).toList());
            files.addAll(sent);
            all.add(c.with(c.env(), files));
        }
        int init = s.initContainers().size();
        return s.with(all.subList(0, init), all.subList(init, all.size()), s.imagePullSecrets());
    }

    /** The mount paths of the container's volumes. */
    private static Set<String> volumes(WorkloadSpec.Container c) {
        Set<String> out = new TreeSet<>();
        c.files().stream().map(WorkloadSpec.FileMount::volume).filter(Objects::nonNull).forEach(out::add);
        return out;
    }

    /** The spec as JSON without the fields an update may change, nor the values resolved from the cluster. */
    private static JsonNode comparable(WorkloadSpec s) {
        ObjectNode n = Json.mapper().valueToTree(s);
        n.remove("activeDeadlineSeconds");
        n.remove("imagePullSecrets");
        for (String list : new String[] {"containers", "initContainers"}) {
            n.path(list).forEach(c -> ((ObjectNode) c).remove(List.of("image", "env", "files")));
        }
        return n;
    }

    /** The path of the first difference between two trees, or null when they are equal. */
    private static String difference(JsonNode a, JsonNode b, String path) {
        if (a.equals(b)) {
            return null;
        }
        if (a.isObject() && b.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = a.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String d = difference(e.getValue(), b.path(e.getKey()), path + "." + e.getKey());
                if (d != null) {
                    return d;
                }
            }
            for (Iterator<String> it = b.fieldNames(); it.hasNext(); ) {
                String name = it.next();
                if (!a.has(name)) {
                    return path + "." + name;
                }
            }
        }
        if (a.isArray() && b.isArray() && a.size() == b.size()) {
            for (int i = 0; i < a.size(); i++) {
                String d = difference(a.get(i), b.get(i), path + "[" + i + "]");
                if (d != null) {
                    return d;
                }
            }
        }
        return path;
    }
}
