package gpufleet.gpuctl.command;

import static gpufleet.gpuctl.output.Column.number;
import static gpufleet.gpuctl.output.Column.of;
import static gpufleet.gpuctl.output.Column.text;

import com.fasterxml.jackson.databind.node.ArrayNode;
import gpufleet.gpuctl.Exit;
import gpufleet.gpuctl.Failure;
import gpufleet.gpuctl.Gpuctl;
import gpufleet.gpuctl.output.Column;
import gpufleet.gpuctl.output.Measure;
import gpufleet.gpuctl.output.Table;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** gpuctl top gpus: the busiest GPUs first, from the telemetry hosts last reported. */
@Command(name = "top", description = "Show GPU utilization, memory, temperature and power, busiest first.")
public final class TopCommand implements Callable<Integer> {
    private static final Map<String, String> SORTS = Map.of("util", "UTIL", "memory", "MEMORY", "temperature", "TEMP",
            "power", "POWER");
    private static final List<Column> COLUMNS = List.of(
            of("HOST", g -> text(g, "host")),
            of("INDEX", g -> number(g, "index")),
            of("UUID", g -> text(g, "uuid")),
            of("MODEL", g -> text(g, "model")),
            of("UTIL", g -> Listings.percent(g, "utilizationGpu")),
            of("MEMORY", Columns::memory),
            of("MEM-UTIL", g -> Listings.percent(g, "utilizationMemory")),
            of("TEMP", g -> g.path("temperatureC").isNumber() ? Measure.of(g.path("temperatureC").asLong(), "C") : null),
            of("POWER", Columns::power),
            of("TENANT", g -> text(g, "tenant")));

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "KIND", completionCandidates = Kinds.class, description = "gpus")
    String kind;

    @Option(names = "--sort-by", defaultValue = "util", completionCandidates = Sorts.class,
            description = "util, memory, temperature or power; default ${DEFAULT-VALUE}")
    String sortBy;

    @Option(names = "--host", description = "only this host's GPUs")
    String host;

    @Option(names = "--model", description = "only GPUs of this model")
    String model;

    static final class Kinds implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return List.of("gpus").iterator();
        }
    }

    static final class Sorts implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return List.of("util", "memory", "temperature", "power").iterator();
        }
    }

    @Override
    public Integer call() {
        if (!kind.equals("gpus") && !kind.equals("gpu")) {
            throw Failure.usage("gpuctl top shows gpus only: gpuctl top gpus");
        }
        String column = SORTS.get(sortBy);
        if (column == null) {
            throw Failure.usage("--sort-by must be one of memory, power, temperature, util; got '" + sortBy + "'");
        }
        Gpuctl root = Gpuctl.of(spec);
        ArrayNode gpus = root.client(spec).list("/v1/gpus", Listings.query("host", host, "model", model));
        Table table = Table.of(COLUMNS, false).addAll(gpus).sortBy("INDEX").sortBy("HOST").sortDescending(column);
        if (table.isEmpty()) {
            spec.commandLine().getErr().println("No gpus found.");
        } else {
            table.print(spec.commandLine().getOut(), root.clock().instant());
        }
        return Exit.OK;
    }
}
