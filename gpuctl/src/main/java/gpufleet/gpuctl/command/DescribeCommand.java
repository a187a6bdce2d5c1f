package gpufleet.gpuctl.command;

import static gpufleet.gpuctl.output.Column.number;
import static gpufleet.gpuctl.output.Column.of;
import static gpufleet.gpuctl.output.Column.text;
import static gpufleet.gpuctl.output.Column.time;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import gpufleet.gpuctl.Exit;
import gpufleet.gpuctl.Failure;
import gpufleet.gpuctl.Gpuctl;
import gpufleet.gpuctl.api.ApiClient;
import gpufleet.gpuctl.output.Column;
import gpufleet.gpuctl.output.Description;
import gpufleet.gpuctl.output.Format;
import gpufleet.gpuctl.output.Table;
import java.time.Instant;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** gpuctl describe host NAME | gpu UUID | workload ID: everything about one object, and its recent history. */
@Command(name = "describe", description = "Show one host, GPU or workload in detail, with its recent events.")
public final class DescribeCommand implements Callable<Integer> {
    private static final int EVENTS = 20;
    private static final List<Column> EVENT_COLUMNS = List.of(
            of("TYPE", e -> text(e, "type")), of("REASON", e -> text(e, "reason")), of("AGE", e -> time(e, "at")),
            of("MESSAGE", e -> text(e, "message")));

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "KIND", completionCandidates = Kinds.class, description = "host, gpu or workload")
    String kind;

    @Parameters(index = "1", paramLabel = "NAME", description = "host name or id, GPU UUID, or workload id")
    String name;

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", description = "json or yaml instead of the description")
    Format output;

    static final class Kinds implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return List.of("host", "gpu", "workload").iterator();
        }
    }

    @Override
    public Integer call() {
        if (output == Format.WIDE) {
            throw Failure.usage("describe prints json or yaml with -o, not wide");
        }
        Gpuctl root = Gpuctl.of(spec);
        ApiClient api = root.client(spec);
        Instant now = root.clock().instant();
        String id = ApiClient.encode(name);
        ObjectNode doc;
        Description d = new Description(now);
        switch (kind.toLowerCase(java.util.Locale.ROOT)) {
            case "host", "hosts" -> {
                doc = (ObjectNode) api.get("/v1/hosts/" + id);
                doc.set("workloads", api.list("/v1/workloads", Map.of("host", name)));
                doc.set("events", api.get("/v1/events" + ApiClient.query(Map.of("host", name, "limit", "" + EVENTS))).path("items"));
                host(d, doc);
            }
            case "gpu", "gpus" -> {
                doc = (ObjectNode) api.get("/v1/gpus/" + id);
                gpu(d, doc);
            }
            case "workload", "workloads" -> {
                doc = (ObjectNode) api.get("/v1/workloads/" + id);
                workload(d, doc);
            }
            default -> throw Failure.usage("gpuctl describes host, gpu or workload, not '" + kind + "'");
        }
        if (output != null) {
            output.print(doc, spec.commandLine().getOut());
        } else {
            d.print(spec.commandLine().getOut());
        }
        return Exit.OK;
    }

    /**
     * The events as a table, a run of the same type and reason folded into its first with a count
     * (a new host's eight GPUs appear as one row); -o json|yaml keeps every event.
     */
    static Table events(JsonNode events) {
        Table table = Table.of(EVENT_COLUMNS, false);
        ObjectNode run = null;
        int more = 0;
        for (JsonNode e : events) {
            if (run != null && run.path("type").equals(e.path("type")) && run.path("reason").equals(e.path("reason"))) {
                more++;
                run.set("at", e.path("at"));
                continue;
            }
            if (run != null) {
                table.add(folded(run, more));
            }
            run = e.deepCopy();
            more = 0;
        }
        if (run != null) {
            table.add(folded(run, more));
        }
        return table;
    }

    private static JsonNode folded(ObjectNode event, int more) {
        return more == 0 ? event : event.put("message", event.path("message").asText() + " (and " + more + " more like it)");
    }

    private static void host(Description d, JsonNode doc) {
        JsonNode h = doc.path("host");
        JsonNode res = h.path("resources");
        JsonNode gpus = h.path("gpus");
        d.field("Name", text(h, "name")).field("ID", text(h, "id")).field("Status", text(h, "state"))
                .field("Cordoned", h.path("cordoned").asBoolean()).field("Last heartbeat", time(h, "lastHeartbeat"))
                .field("State since", time(h, "stateSince")).field("Address", text(h, "address"))
                .field("Driver", text(h, "driverVersion"))
                .field("CUDA", text(h, "cudaVersion"))
                .field("CPU", res.isMissingNode() ? null : res.path("allocatableCpu").asText() + " allocatable of " + res.path("cpu").asText())
                .field("Memory", res.isMissingNode() ? null : res.path("allocatableMemory").asText() + " allocatable of " + res.path("memory").asText())
                .field("GPUs", gpus.path("total").asLong() + " (" + gpus.path("free").asLong() + " free, "
                        + gpus.path("allocated").asLong() + " allocated, " + gpus.path("unhealthy").asLong() + " unhealthy)");
        d.section("Conditions", Table.of(List.of(of("TYPE", c -> text(c, "type")), of("STATUS", c -> text(c, "status")),
                of("REASON", c -> text(c, "reason")), of("MESSAGE", c -> text(c, "message"))), false).addAll(h.path("conditions")));
        d.section("GPUs", Table.of(List.of(of("INDEX", g -> number(g, "index")), of("UUID", g -> text(g, "uuid")),
                of("MODEL", g -> text(g, "model")), of("STATE", g -> text(g, "state")), of("TENANT", g -> text(g, "tenant")),
                of("REASON", g -> text(g, "healthReason"))), false).addAll(doc.path("gpus")).sortBy("INDEX"));
        d.section("Workloads", Table.of(Columns.WORKLOADS.stream().filter(c -> !c.header().equals("HOST")).toList(), false)
                .addAll(doc.path("workloads")).sortBy("AGE"));
        d.section("Events", events(doc.path("events")));
    }

    private static void gpu(Description d, JsonNode doc) {
        JsonNode g = doc.path("gpu");
        d.field("UUID", text(g, "uuid")).field("Host", text(g, "host")).field("Index", number(g, "index"))
                .field("Model", text(g, "model")).field("State", text(g, "state")).field("Tenant", text(g, "tenant"))
                .field("Health reason", text(g, "healthReason")).field("Memory", Columns.memory(g))
                .field("Utilization", Listings.percent(g, "utilizationGpu"))
                .field("Memory utilization", Listings.percent(g, "utilizationMemory"))
                .field("Temperature", g.path("temperatureC").isNumber() ? g.path("temperatureC").asLong() + "C" : null)
                .field("Power", Columns.power(g)).field("PCI bus", text(g, "pciBusId")).field("NUMA node", number(g, "numaNode"))
                .field("MIG", text(g, "migEnabled")).field("Reported", g.path("present").asBoolean())
                .field("Updated", time(g, "updatedAt"));
        d.section("Allocations", Table.of(List.of(of("TENANT", a -> text(a, "tenant")),
                of("WORKLOAD", a -> text(a, "workloadId")), of("CONTAINER", a -> text(a, "container")),
                of("ALLOCATED", a -> time(a, "allocatedAt")), of("RELEASED", a -> time(a, "releasedAt"))), false)
                .addAll(doc.path("allocations")));
        d.section("Events", events(doc.path("events")));
    }

    private static void workload(Description d, JsonNode doc) {
        JsonNode w = doc.path("workload");
        d.field("ID", text(w, "id")).field("Tenant", text(w, "tenant"))
                .field("Pod", w.path("namespace").asText() + "/" + w.path("name").asText()).field("Pod UID", text(w, "podUid"))
                .field("Offering", text(w, "offering")).field("Status", Columns.status(w)).field("Phase", text(w, "phase"))
                .field("Reason", text(w, "reason")).field("Message", text(w, "message")).field("Host", text(w, "host"))
                .field("GPUs", Columns.joined(w.path("gpus"))).field("Created", time(w, "createdAt"))
                .field("Deletion requested", w.path("deletionRequested").asBoolean()).field("Gone since", time(w, "deletedAt"));
        d.section("Events", events(doc.path("events")));
    }
}
