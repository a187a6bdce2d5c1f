package gpufleet.gpuctl.command;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import gpufleet.gpuctl.Exit;
import gpufleet.gpuctl.Failure;
import gpufleet.gpuctl.Gpuctl;
import gpufleet.gpuctl.output.Format;
import gpufleet.gpuctl.output.Table;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** gpuctl get: one kind of thing as a table, or as the API's JSON or YAML. */
@Command(name = "get", description = "List hosts, gpus, tenants, offerings, workloads, routes, tokens or events.")
public final class GetCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "KIND", completionCandidates = Listings.Names.class,
            description = "one of: ${COMPLETION-CANDIDATES}")
    String kind;

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", completionCandidates = Format.Names.class,
            description = "wide, json or yaml")
    Format output;

    @Option(names = "--sort-by", paramLabel = "COLUMN", description = "sort by this column (e.g. age, free, host)")
    String sortBy;

    @Option(names = "--model", description = "GPU model (gpus, offerings)")
    String model;

    @Option(names = "--host", description = "host name or id (gpus, workloads, events)")
    String host;

    @Option(names = "--state", description = "gpus: free, allocated, unhealthy; hosts: ready, cordoned, not-ready, lost")
    String state;

    @Option(names = "--tenant", description = "tenant (gpus, offerings, workloads, routes, tokens)")
    String tenant;

    @Option(names = "--phase", description = "workload phase: pending, placed, running, succeeded, failed, deleted")
    String phase;

    @Option(names = "--deleted", description = "workloads: also those that are gone")
    boolean deleted;

    @Override
    public Integer call() {
        Listings.Listing listing = Listings.find(kind);
        Listings.Filters filters = new Listings.Filters(model, host, state, tenant, phase, deleted);
        for (String flag : filters.given().keySet()) {
            if (!listing.filters().contains(flag)) {
                throw Failure.usage(flag + " does not apply to " + listing.name()
                        + (listing.filters().isEmpty() ? "" : "; it takes " + String.join(", ", listing.filters().stream().sorted().toList())));
            }
        }
        Gpuctl root = Gpuctl.of(spec);
        ArrayNode items = listing.fetch().apply(root.client(spec), filters);
        PrintWriter out = spec.commandLine().getOut();
        if (output != null && output.document()) {
            output.print(JsonNodeFactory.instance.objectNode().set("items", items), out);
            return Exit.OK;
        }
        Table table = Table.of(listing.columns(), output == Format.WIDE).addAll(items);
        sort(table, listing);
        if (table.isEmpty()) {
            spec.commandLine().getErr().println("No " + listing.name() + " found.");
        } else {
            table.print(out, root.clock().instant());
        }
        return Exit.OK;
    }

    private void sort(Table table, Listings.Listing listing) {
        List<String> order = sortBy == null ? listing.sort() : List.of(sortBy);
        for (String column : order) {
            try {
                table.sortBy(column);
            } catch (IllegalArgumentException e) {
                throw Failure.usage("--sort-by: " + e.getMessage());
            }
        }
    }
}
