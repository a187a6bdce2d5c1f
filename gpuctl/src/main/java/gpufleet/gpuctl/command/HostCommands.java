package gpufleet.gpuctl.command;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.gpuctl.Exit;
import gpufleet.gpuctl.Gpuctl;
import gpufleet.gpuctl.api.ApiClient;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** gpuctl cordon / uncordon HOST: stop or resume placing new workloads on a host. */
public final class HostCommands {
    private HostCommands() {}

    @Command(name = "cordon", description = "Mark a host unschedulable: nothing new is placed on it; its workloads keep running.")
    public static final class Cordon implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "HOST", description = "host name or id")
        String host;

        @Override
        public Integer call() {
            return set(spec, host, "cordon", "cordoned");
        }
    }

    @Command(name = "uncordon", description = "Mark a host schedulable again.")
    public static final class Uncordon implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "HOST", description = "host name or id")
        String host;

        @Override
        public Integer call() {
            return set(spec, host, "uncordon", "uncordoned");
        }
    }

    private static int set(CommandSpec spec, String host, String action, String done) {
        ApiClient api = Gpuctl.of(spec).client(spec);
        JsonNode r = api.post("/v1/hosts/" + ApiClient.encode(host) + "/" + action, null);
        String name = r.path("host").path("name").asText(host);
        spec.commandLine().getOut().println("host/" + name + (r.path("changed").asBoolean() ? " " : " already ") + done);
        return Exit.OK;
    }
}
