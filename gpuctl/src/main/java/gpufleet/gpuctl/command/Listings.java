package gpufleet.gpuctl.command;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import gpufleet.gpuctl.Failure;
import gpufleet.gpuctl.api.ApiClient;
import gpufleet.gpuctl.output.Column;
import gpufleet.gpuctl.output.Measure;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.BiFunction;

/** What `gpuctl get` can list: where each kind is read from, which filters apply, and its columns. */
final class Listings {
    private Listings() {}

    /** The filters the get command takes; each listing accepts some of them. */
    record Filters(String model, String host, String state, String tenant, String phase, boolean deleted) {
        Map<String, Object> given() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("--model", model);
            m.put("--host", host);
            m.put("--state", state);
            m.put("--tenant", tenant);
            m.put("--phase", phase);
            m.put("--deleted", deleted ? true : null);
            m.values().removeIf(v -> v == null);
            return m;
        }
    }

    /** One kind of thing to list. {@code sort}: the columns it is sorted by unless --sort-by says otherwise. */
    record Listing(String name, Set<String> filters, BiFunction<ApiClient, Filters, ArrayNode> fetch, List<Column> columns,
                   List<String> sort) {}

    static final Set<String> HOST_STATES = Set.of("ready", "cordoned", "not-ready", "lost");
    static final Set<String> GPU_STATES = Set.of("free", "allocated", "unhealthy");
    static final Set<String> PHASES = Set.of("pending", "placed", "running", "succeeded", "failed", "deleted");

    /** How many of the newest events `get events` shows (oldest first, as kubectl does). */
    static final int EVENTS = 200;

    static final List<Listing> ALL = List.of(
            new Listing("hosts", Set.of("--state"), (api, f) -> {
                check("--state", f.state(), HOST_STATES);
                return api.list("/v1/hosts", query("state", f.state()));
            }, Columns.HOSTS, List.of("NAME")),
            new Listing("gpus", Set.of("--model", "--host", "--state", "--tenant"), (api, f) -> {
                check("--state", f.state(), GPU_STATES);
                return api.list("/v1/gpus", query("model", f.model(), "host", f.host(), "state", f.state(), "tenant", f.tenant()));
            }, Columns.GPUS, List.of("INDEX", "HOST")),
            new Listing("tenants", Set.of(), (api, f) -> items(api.get("/v1/tenants")), Columns.TENANTS, List.of("NAME")),
            new Listing("offerings", Set.of("--model", "--tenant"), (api, f) -> {
                ArrayNode all = items(api.get(f.tenant() == null ? "/v1/offerings"
                        : "/v1/tenants/" + ApiClient.encode(f.tenant()) + "/offerings"));
                return f.model() == null ? all : keep(all, o -> o.path("gpuModel").asText().equals(f.model()));
            }, Columns.OFFERINGS, List.of("NAME")),
            new Listing("workloads", Set.of("--host", "--tenant", "--phase", "--deleted"), (api, f) -> {
                check("--phase", f.phase(), PHASES);
                return api.list("/v1/workloads", query("tenant", f.tenant(), "host", f.host(), "phase", f.phase(),
                        "deleted", f.deleted() ? "true" : null));
            }, Columns.WORKLOADS, List.of("AGE")),
            new Listing("routes", Set.of("--tenant"), (api, f) -> items(api.get(f.tenant() == null ? "/v1/routes"
                    : "/v1/tenants/" + ApiClient.encode(f.tenant()) + "/routes")), Columns.ROUTES, List.of("HOSTNAME")),
            new Listing("tokens", Set.of("--tenant"), (api, f) -> {
                ArrayNode all = items(api.get("/v1/tokens"));
                return f.tenant() == null ? all : keep(all, t -> t.path("tenant").asText().equals(f.tenant()));
            }, Columns.TOKENS, List.of("AGE")),
            new Listing("events", Set.of("--host"), (api, f) -> items(api.get("/v1/events" + ApiClient.query(
                    query("host", f.host(), "limit", Integer.toString(EVENTS))))), Columns.EVENTS, List.of()));

    /** The listing a name means: plural, singular, or any case. */
    static Listing find(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        for (Listing l : ALL) {
            if (l.name().equals(n) || l.name().equals(n + "s")) {
                return l;
            }
        }
        throw Failure.usage("gpuctl cannot list '" + name + "'; it lists " + String.join(", ", names()));
    }

    static List<String> names() {
        return ALL.stream().map(Listing::name).toList();
    }

    /** The resource names, for shell completion. */
    static final class Names implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return names().iterator();
        }
    }

    static void check(String flag, String value, Set<String> allowed) {
        if (value != null && !allowed.contains(value)) {
            throw Failure.usage(flag + " must be one of " + String.join(", ", allowed.stream().sorted().toList())
                    + "; got '" + value + "'");
        }
    }

    static Map<String, String> query(String... pairs) {
        Map<String, String> q = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            if (pairs[i + 1] != null) {
                q.put(pairs[i], pairs[i + 1]);
            }
        }
        return q;
    }

    static ArrayNode items(JsonNode answer) {
        JsonNode items = answer.path("items");
        return items.isArray() ? (ArrayNode) items : JsonNodeFactory.instance.arrayNode();
    }

    private static ArrayNode keep(ArrayNode all, java.util.function.Predicate<JsonNode> test) {
        ArrayNode out = JsonNodeFactory.instance.arrayNode();
        all.forEach(n -> {
            if (test.test(n)) {
                out.add(n);
            }
        });
        return out;
    }

    /** GiB, whole when exact ("48Gi"), else with one decimal ("1.5Gi"). */
    static String gib(long bytes) {
        double g = bytes / (double) (1L << 30);
        return g == Math.rint(g) ? (long) g + "Gi" : String.format(Locale.ROOT, "%.1fGi", g);
    }

    static Measure percent(JsonNode n, String field) {
        return n.path(field).isNumber() ? Measure.of(n.path(field).asLong(), "%") : null;
    }
}
