package gpufleet.gpuctl.command;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.gpuctl.Exit;
import gpufleet.gpuctl.Failure;
import gpufleet.gpuctl.Gpuctl;
import gpufleet.gpuctl.api.ApiClient;
import gpufleet.gpuctl.output.Format;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * gpuctl set limits TENANT: the tenant's own limits on live workloads, routes and concurrent
 * streams. The call replaces all three, as the API does: a limit not given goes back to the
 * control-api's default, so the command line always says the whole of what is set.
 */
@Command(name = "set", description = "Set a tenant's limits: gpuctl set limits TENANT --max-workloads N --max-routes N --max-streams N"
        + " (a limit left out is the default).")
public final class SetCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "WHAT", description = "limits")
    String what;

    @Parameters(index = "1", paramLabel = "TENANT", description = "tenant name")
    String tenant;

    @Option(names = "--max-workloads", paramLabel = "N", description = "live workloads (not yet deleted)")
    Integer maxWorkloads;

    @Option(names = "--max-routes", paramLabel = "N", description = "routes: public names for Services")
    Integer maxRoutes;

    @Option(names = "--max-streams", paramLabel = "N", description = "concurrent logs, exec, attach and port-forward streams")
    Integer maxStreams;

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", description = "json or yaml: print the whole tenant")
    Format output;

    @Override
    public Integer call() {
        if (!what.equals("limits")) {
            throw Failure.usage("gpuctl sets tenants' limits only: gpuctl set limits TENANT --max-workloads N ...");
        }
        if (output == Format.WIDE) {
            throw Failure.usage("set prints json or yaml with -o, not wide");
        }
        Map<String, Object> body = new HashMap<>();
        body.put("maxWorkloads", maxWorkloads);
        body.put("maxRoutes", maxRoutes);
        body.put("maxStreams", maxStreams);
        JsonNode t = Gpuctl.of(spec).client(spec).put("/v1/tenants/" + ApiClient.encode(tenant) + "/limits", body);
        if (output != null) {
            output.print(t, spec.commandLine().getOut());
            return Exit.OK;
        }
        JsonNode l = t.path("limits");
        spec.commandLine().getOut().println("tenant/" + t.path("name").asText(tenant) + " limits: workloads "
                + l.path("maxWorkloads").asText() + ", routes " + l.path("maxRoutes").asText() + ", streams "
                + l.path("maxStreams").asText());
        return Exit.OK;
    }
}
