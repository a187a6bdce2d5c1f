package gpufleet.tenant;

import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import java.util.List;

/**
 * One request to the API server in RBAC's terms: verb, API group, resource (with its subresource,
 * "pods/status"), object name and namespace (null: cluster scope), as the API server's authorizer
 * sees it.
 */
public record ApiCall(String verb, String group, String resource, String name, String namespace) {

    /** From the HTTP method and path of a request (/api/v1/... or /apis/GROUP/VERSION/...). */
    public static ApiCall of(String method, String pathAndQuery) {
        String path = pathAndQuery.split("\\?", 2)[0];
        String query = pathAndQuery.contains("?") ? pathAndQuery.substring(pathAndQuery.indexOf('?') + 1) : "";
        String[] p = path.replaceFirst("^/", "").split("/");
        String group;
        int i;
        if (p[0].equals("api")) {
            group = "";
            i = 2;
        } else if (p[0].equals("apis")) {
            group = p[1];
            i = 3;
        } else {
            throw new IllegalArgumentException("not a resource request: " + method + " " + pathAndQuery);
        }
        String namespace = null;
        if (p.length > i + 2 && p[i].equals("namespaces")) {
            namespace = p[i + 1];
            i += 2;
        }
        String resource = p[i];
        String name = p.length > i + 1 ? p[i + 1] : null;
        if (p.length > i + 2) {
            resource += "/" + p[i + 2];
        }
        String verb = switch (method) {
            case "GET" -> name != null ? "get" : List.of(query.split("&")).contains("watch=true") ? "watch" : "list";
            case "POST" -> "create";
            case "PUT" -> "update";
            case "PATCH" -> "patch";
            case "DELETE" -> name != null ? "delete" : "deletecollection";
            default -> throw new IllegalArgumentException("method " + method + " of " + pathAndQuery);
        };
        return new ApiCall(verb, group, resource, verb.equals("create") ? null : name, namespace);
    }

    public boolean allowedBy(PolicyRule r) {
        return matches(r.getApiGroups(), group) && matches(r.getResources(), resource) && matches(r.getVerbs(), verb)
                && (r.getResourceNames() == null || r.getResourceNames().isEmpty() || r.getResourceNames().contains(name));
    }

    private static boolean matches(List<String> allowed, String value) {
        return allowed != null && (allowed.contains(value) || allowed.contains("*"));
    }

    @Override
    public String toString() {
        return verb + " " + (group.isEmpty() ? "" : group + "/") + resource + (name == null ? "" : " " + name)
                + (namespace == null ? " (cluster)" : " in " + namespace);
    }
}
