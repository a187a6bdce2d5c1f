package gpufleet.gpuctl.command;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.gpuctl.Exit;
import gpufleet.gpuctl.Failure;
import gpufleet.gpuctl.Gpuctl;
import gpufleet.gpuctl.api.ApiClient;
import gpufleet.gpuctl.output.Format;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * gpuctl rekey host NAME: the host's credentials stop working at once, and the join token that
 * registers it again (its name only, once, within an hour) is printed alone on stdout, as
 * gpuctl create join-token prints one; what happened goes to stderr.
 */
@Command(name = "rekey", description = "Revoke a host's credentials and print a join token that registers that host once.")
public final class RekeyCommand implements Callable<Integer> {
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
            throw Failure.usage("gpuctl re-keys hosts only: gpuctl rekey host NAME");
        }
        if (output == Format.WIDE) {
            throw Failure.usage("rekey prints json or yaml with -o, not wide");
        }
        JsonNode r = Gpuctl.of(spec).client(spec).post("/v1/hosts/" + ApiClient.encode(host) + "/rekey", null);
        if (output != null) {
            output.print(r, spec.commandLine().getOut());
            return Exit.OK;
        }
        JsonNode join = r.path("joinToken");
        spec.commandLine().getErr().println("host/" + r.path("name").asText(host) + " re-keyed: "
                + r.path("revokedCredentials").asInt() + " credential(s) revoked; register it with this join token"
                + " (its name only, once, until " + join.path("expiresAt").asText() + ")");
        spec.commandLine().getOut().println(join.path("token").asText());
        return Exit.OK;
    }
}
