package gpufleet.gpuctl.command;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.gpuctl.Exit;
import gpufleet.gpuctl.Failure;
import gpufleet.gpuctl.Gpuctl;
import gpufleet.gpuctl.output.Format;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** gpuctl create tenant | offering | join-token. */
@Command(name = "create", description = "Create a tenant, an offering or a join token.",
        subcommands = {CreateCommand.Tenant.class, CreateCommand.Offering.class, CreateCommand.JoinToken.class})
public final class CreateCommand {
    /** Shared by the create commands: -o json|yaml prints what the API answered. */
    abstract static class Creation implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", description = "json or yaml: print the created object")
        Format output;

        abstract String path();

        abstract Object body();

        /** The line printed when no -o is given. */
        abstract String done(JsonNode created);

        @Override
        public Integer call() {
            if (output == Format.WIDE) {
                throw Failure.usage("create prints json or yaml with -o, not wide");
            }
            JsonNode created = Gpuctl.of(spec).client(spec).post(path(), body());
            if (output != null) {
                output.print(created, spec.commandLine().getOut());
            } else {
                spec.commandLine().getOut().println(done(created));
            }
            return Exit.OK;
        }
    }

    @Command(name = "tenant", description = "Create a tenant with the offerings it may use.")
    static final class Tenant extends Creation {
        @Parameters(paramLabel = "NAME", description = "1-26 lowercase letters, digits or '-', starting and ending with a letter or digit")
        String name;

        @Option(names = "--offering", split = ",", paramLabel = "OFFERING", description = "an offering it may use (repeat, or comma-separate)")
        List<String> offerings = List.of();

        String path() {
            return "/v1/tenants";
        }

        Object body() {
            return Map.of("name", name, "offerings", offerings);
        }

        String done(JsonNode created) {
            return "tenant/" + created.path("name").asText(name) + " created";
        }
    }

    @Command(name = "offering", description = "Create an offering: what a tenant's RuntimeClass names.")
    static final class Offering extends Creation {
        @Parameters(paramLabel = "NAME", description = "a DNS label, e.g. seeweb-nvidia-1xa6000")
        String name;

        @Option(names = "--gpu-model", required = true, description = "the model NVML reports, e.g. 'NVIDIA RTX A6000'")
        String model;

        @Option(names = "--gpu-count", required = true, description = "GPUs per pod, 1 to 16")
        int count;

        @Option(names = "--cpu", required = true, description = "cpu a pod may use, e.g. 8 or 8000m")
        String cpu;

        @Option(names = "--memory", required = true, description = "memory a pod may use, e.g. 32Gi")
        String memory;

        String path() {
            return "/v1/offerings";
        }

        Object body() {
            Map<String, Object> b = new LinkedHashMap<>();
            b.put("name", name);
            b.put("gpuModel", model);
            b.put("gpuCount", count);
            b.put("cpu", cpu);
            b.put("memory", memory);
            return b;
        }

        String done(JsonNode created) {
            return "offering/" + created.path("name").asText(name) + " created";
        }
    }

    @Command(name = "join-token", description = "Issue a join token for new hosts; prints the token (shown only once).")
    static final class JoinToken extends Creation {
        @Option(names = "--ttl", paramLabel = "DURATION", description = "how long it works, e.g. 1h (the default), at most 720h")
        String ttl;

        @Option(names = "--uses", paramLabel = "N", description = "how many hosts it registers, 1 to 1000; default 1, or one per --host")
        Integer uses;

        @Option(names = "--host", split = ",", paramLabel = "NAME",
                description = "the only host name it may register (repeat, or comma-separate); default any name")
        List<String> hosts;

        @Option(names = "--description", description = "what it is for, e.g. 'rack 4'")
        String description;

        String path() {
            return "/v1/join-tokens";
        }

        Object body() {
            Map<String, Object> b = new LinkedHashMap<>();
            if (ttl != null) {
                b.put("ttl", ttl);
            }
            if (description != null) {
                b.put("description", description);
            }
            if (uses != null) {
                b.put("uses", uses);
            }
            if (hosts != null) {
                b.put("hosts", hosts);
            }
            return b;
        }

        String done(JsonNode created) {
            return created.path("token").asText();
        }
    }
}
