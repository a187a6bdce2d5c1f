package gpufleet.gpuctl.command;

import gpufleet.gpuctl.Exit;
import gpufleet.gpuctl.Failure;
import gpufleet.gpuctl.Gpuctl;
import gpufleet.gpuctl.api.ApiClient;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** gpuctl revoke token ID: the token stops working at once (within seconds on other replicas). */
@Command(name = "revoke", description = "Revoke a token (gpuctl get tokens lists their ids).")
public final class RevokeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "KIND", description = "token")
    String kind;

    @Parameters(index = "1", paramLabel = "ID", description = "the token's id (never its secret)")
    String id;

    @Override
    public Integer call() {
        if (!kind.equals("token")) {
            throw Failure.usage("gpuctl revokes tokens only: gpuctl revoke token ID");
        }
        Gpuctl.of(spec).client(spec).delete("/v1/tokens/" + ApiClient.encode(id));
        spec.commandLine().getOut().println("token/" + id + " revoked");
        return Exit.OK;
    }
}
