package gpufleet.gpuctl.command;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.gpuctl.Exit;
import gpufleet.gpuctl.Failure;
import gpufleet.gpuctl.Gpuctl;
import gpufleet.gpuctl.api.ApiClient;
import gpufleet.gpuctl.output.Format;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * gpuctl approve host NAME: the GPUs the host reported beyond its approved inventory (shown by
 * gpuctl describe host as InventoryApproved=False) become part of it and can be placed onto.
 * Prints what was approved; with nothing held, says so and changes nothing.
 */
@Command(name = "approve", description = "Approve the GPUs a host reported beyond its approved inventory.")
public final class ApproveCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "KIND", description = "host")
    String kind;

    @Parameters(index = "1", paramLabel = "HOST", description = "host name or id")
    String host;

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", description = "json or yaml: print the whole answer")
    Format output;

    @Override
    public Integer call() {
        if (!kind.equals("host")) {
            throw Failure.usage("gpuctl approves hosts only: gpuctl approve host NAME");
        }
        if (output == Format.WIDE) {
            throw Failure.usage("approve prints json or yaml with -o, not wide");
        }
        JsonNode r = Gpuctl.of(spec).client(spec).post("/v1/hosts/" + ApiClient.encode(host) + "/approve", null);
        if (output != null) {
            output.print(r, spec.commandLine().getOut());
            return Exit.OK;
        }
        String name = r.path("name").asText(host);
        List<String> approved = new ArrayList<>();
        r.path("approved").forEach(a -> approved.add(a.asText()));
        if (approved.isEmpty()) {
            spec.commandLine().getOut().println("host/" + name + " has nothing held for approval (approved: "
                    + r.path("inventory").asText() + ")");
            return Exit.OK;
        }
        spec.commandLine().getOut().println("host/" + name + " approved: " + approved.size() + " GPU(s); approved now: "
                + r.path("inventory").asText());
        approved.forEach(a -> spec.commandLine().getOut().println("  " + a));
        return Exit.OK;
    }
}
