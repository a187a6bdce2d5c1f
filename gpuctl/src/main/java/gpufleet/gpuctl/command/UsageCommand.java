package gpufleet.gpuctl.command;

import static gpufleet.gpuctl.output.Column.of;
import static gpufleet.gpuctl.output.Column.text;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.gpuctl.Exit;
import gpufleet.gpuctl.Failure;
import gpufleet.gpuctl.Gpuctl;
import gpufleet.gpuctl.api.ApiClient;
import gpufleet.gpuctl.output.Column;
import gpufleet.gpuctl.output.Format;
import gpufleet.gpuctl.output.Table;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * gpuctl usage: GPU-hours per tenant, offering, model or day from GET /v1/usage, what a provider
 * bills from; as a table, CSV (for a spreadsheet or a billing system) or the API's JSON.
 */
@Command(name = "usage", description = "Show GPU usage (GPU-hours) over a time range, grouped by tenant, offering, model or day.")
public final class UsageCommand implements Callable<Integer> {
    /** A day alone (2026-11-01) means its UTC midnight. */
    private static final Pattern DAY = Pattern.compile("^\\d{4}-\\d{2}-\\d{2}$");

    @Spec
    CommandSpec spec;

    @Option(names = "--from", required = true, paramLabel = "TIME",
            description = "start, included: RFC 3339 (2026-11-01T00:00:00Z) or a day (2026-11-01, UTC midnight)")
    String from;

    @Option(names = "--to", required = true, paramLabel = "TIME", description = "end, excluded: as --from")
    String to;

    @Option(names = "--group-by", paramLabel = "KEYS", completionCandidates = Keys.class,
            description = "comma-separated: tenant, offering, model, day; none: the total")
    String groupBy;

    @Option(names = "--tenant", description = "only this tenant")
    String tenant;

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", completionCandidates = Outputs.class,
            description = "table (default), csv or json")
    String output = "table";

    static final class Keys implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return List.of("tenant", "offering", "model", "day").iterator();
        }
    }

    static final class Outputs implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return List.of("table", "csv", "json").iterator();
        }
    }

    @Override
    public Integer call() {
        String format = output.toLowerCase(Locale.ROOT);
        if (!List.of("table", "csv", "json").contains(format)) {
            throw Failure.usage("--output must be table, csv or json; got '" + output + "'");
        }
        Gpuctl root = Gpuctl.of(spec);
        Map<String, String> query = new LinkedHashMap<>();
        query.put("from", time(from));
        query.put("to", time(to));
        if (groupBy != null) {
            query.put("groupBy", groupBy.replace(" ", ""));
        }
        if (tenant != null) {
            query.put("tenant", tenant);
        }
        JsonNode usage = root.client(spec).get("/v1/usage" + ApiClient.query(query));
        PrintWriter out = spec.commandLine().getOut();
        List<String> keys = new ArrayList<>();
        usage.path("groupBy").forEach(k -> keys.add(k.asText()));
        switch (format) {
            case "json" -> Format.JSON.print(usage, out);
            case "csv" -> csv(usage, keys, out);
            default -> table(usage, keys, out, root);
        }
        return Exit.OK;
    }

    private static String time(String value) {
        return DAY.matcher(value).matches() ? value + "T00:00:00Z" : value;
    }

    private static void table(JsonNode usage, List<String> keys, PrintWriter out, Gpuctl root) {
        List<Column> columns = new ArrayList<>();
        for (String k : keys) {
            columns.add(of(k.toUpperCase(Locale.ROOT), g -> text(g, k)));
        }
        columns.add(of("GPU-HOURS", g -> String.format(Locale.ROOT, "%.3f", g.path("gpuHours").asDouble())));
        columns.add(of("GPU-SECONDS", g -> String.format(Locale.ROOT, "%.0f", g.path("gpuSeconds").asDouble())));
        Table table = Table.of(columns, false).addAll(usage.path("groups"));
        table.print(out, root.clock().instant());
        if (!keys.isEmpty()) {
            out.printf(Locale.ROOT, "TOTAL %.3f GPU-hours%n", usage.path("totalGpuHours").asDouble());
        }
    }

    /** RFC 4180: a header of the keys, then gpuSeconds and gpuHours; a value with a comma or quote is quoted. */
    private static void csv(JsonNode usage, List<String> keys, PrintWriter out) {
        List<String> header = new ArrayList<>(keys);
        header.add("gpuSeconds");
        header.add("gpuHours");
        out.print(String.join(",", header) + "\r\n");
        for (JsonNode g : usage.path("groups")) {
            List<String> row = new ArrayList<>();
            for (String k : keys) {
                row.add(quoted(g.path(k).asText()));
            }
            row.add(g.path("gpuSeconds").asText());
            row.add(g.path("gpuHours").asText());
            out.print(String.join(",", row) + "\r\n");
        }
    }

    private static String quoted(String v) {
        return v.contains(",") || v.contains("\"") || v.contains("\n") || v.contains("\r") ? "\"" + v.replace("\"", "\"\"") + "\"" : v;
    }
}
