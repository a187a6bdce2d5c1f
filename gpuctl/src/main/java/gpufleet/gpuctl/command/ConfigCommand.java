package gpufleet.gpuctl.command;

import static gpufleet.gpuctl.output.Column.of;

import gpufleet.gpuctl.Exit;
import gpufleet.gpuctl.Failure;
import gpufleet.gpuctl.Gpuctl;
import gpufleet.gpuctl.config.ConfigFile;
import gpufleet.gpuctl.output.Column;
import gpufleet.gpuctl.output.Table;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** gpuctl config: the contexts of the config file (a server and a token each) and which one is current. */
@Command(name = "config", description = "Manage the contexts in gpuctl's config file.",
        subcommands = {ConfigCommand.GetContexts.class, ConfigCommand.UseContext.class, ConfigCommand.SetContext.class,
                ConfigCommand.CurrentContext.class})
public final class ConfigCommand {
    @Command(name = "get-contexts", description = "List the contexts; * marks the current one.")
    static final class GetContexts implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            ConfigFile config = Gpuctl.of(spec).configFile(spec);
            String current = config.currentContext().orElse("");
            List<Column> columns = List.of(of("CURRENT", c -> c.path("current").asText()), of("NAME", c -> c.path("name").asText()),
                    of("SERVER", c -> c.path("server").asText(null)));
            Table table = Table.of(columns, false);
            for (ConfigFile.Context c : config.contexts()) {
                table.add(com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode()
                        .put("current", c.name().equals(current) ? "*" : "").put("name", c.name()).put("server", c.server()));
            }
            if (table.isEmpty()) {
                spec.commandLine().getErr().println("No contexts in " + config.path() + ".");
            } else {
                table.print(spec.commandLine().getOut(), Instant.EPOCH);
            }
            return Exit.OK;
        }
    }

    @Command(name = "use-context", description = "Make a context the current one.")
    static final class UseContext implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        public Integer call() {
            ConfigFile config = Gpuctl.of(spec).configFile(spec);
            config.useContext(name);
            config.save();
            spec.commandLine().getOut().println("Switched to context \"" + name + "\".");
            return Exit.OK;
        }
    }

    @Command(name = "set-context", description = "Add or change a context: gpuctl config set-context NAME --server URL --token TOKEN.")
    static final class SetContext implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        public Integer call() {
            String server = Gpuctl.option(spec, "--server");
            String token = Gpuctl.option(spec, "--token");
            if (server == null && token == null) {
                throw Failure.usage("set-context needs --server, --token or both");
            }
            ConfigFile config = Gpuctl.of(spec).configFile(spec);
            boolean existed = config.context(name).isPresent();
            config.setContext(new ConfigFile.Context(name, server, token));
            config.save();
            spec.commandLine().getOut().println("Context \"" + name + "\" " + (existed ? "modified" : "created") + ".");
            return Exit.OK;
        }
    }

    @Command(name = "current-context", description = "Print the current context's name.")
    static final class CurrentContext implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            ConfigFile config = Gpuctl.of(spec).configFile(spec);
            String current = config.currentContext().orElseThrow(() -> new Failure(Exit.NOT_FOUND,
                    "no current context in " + config.path()));
            spec.commandLine().getOut().println(current);
            return Exit.OK;
        }
    }
}
