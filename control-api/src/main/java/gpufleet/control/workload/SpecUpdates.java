package gpufleet.control.workload;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import gpufleet.common.Json;
import gpufleet.common.api.WorkloadSpec;
import java.util.Iterator;
import java.util.Map;

/**
 * What a running pod's spec may change, as the API server allows it: the images of its containers
 * and init containers, and activeDeadlineSeconds (set, or shortened). Anything else is refused
 * naming the first field that differs; the API server refuses such an update before it reaches
 * the agent, so only a tampered or buggy agent sends one.
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
        Long was = stored.activeDeadlineSeconds();
        Long now = next.activeDeadlineSeconds();
        if (was != null && (now == null || now > was)) {
            return "spec.activeDeadlineSeconds may be set or decreased, not " + (now == null ? "removed" : "increased")
                    + " (was " + was + ")";
        }
        return null;
    }

    /** The spec as JSON with the fields an update may change left out. */
    private static JsonNode comparable(WorkloadSpec s) {
        ObjectNode n = Json.mapper().valueToTree(s);
        n.remove("activeDeadlineSeconds");
        for (String list : new String[] {"containers", "initContainers"}) {
            n.path(list).forEach(c -> ((ObjectNode) c).remove("image"));
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
