package gpufleet.gpuctl;

import gpufleet.gpuctl.api.ApiClient;
import gpufleet.gpuctl.command.ApproveCommand;
import gpufleet.gpuctl.command.CompletionCommand;
import gpufleet.gpuctl.command.ConfigCommand;
import gpufleet.gpuctl.command.CreateCommand;
import gpufleet.gpuctl.command.DescribeCommand;
import gpufleet.gpuctl.command.DrainCommand;
import gpufleet.gpuctl.command.GetCommand;
import gpufleet.gpuctl.command.HostCommands;
import gpufleet.gpuctl.command.RekeyCommand;
import gpufleet.gpuctl.command.RevokeCommand;
import gpufleet.gpuctl.command.SetCommand;
import gpufleet.gpuctl.command.TopCommand;
import gpufleet.gpuctl.command.UsageCommand;
import gpufleet.gpuctl.config.ConfigFile;
import gpufleet.gpuctl.config.Connection;
import java.io.PrintWriter;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** The root command: options every command shares, and how failures become exit codes. */
@Command(name = "gpuctl", mixinStandardHelpOptions = true, versionProvider = BuildVersion.class,
        description = "Sees and steers a GPU Fleet through its control-api (operator token).",
        subcommands = {GetCommand.class, DescribeCommand.class, HostCommands.Cordon.class, HostCommands.Uncordon.class,
                DrainCommand.class, CreateCommand.class, RevokeCommand.class, RekeyCommand.class, ApproveCommand.class, TopCommand.class, ConfigCommand.class,
                SetCommand.class, CompletionCommand.class, UsageCommand.class, CommandLine.HelpCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:ok", "1:the API refused, or the operation failed", "2:usage error", "3:not found",
                "4:unauthorized or forbidden", "5:timed out (drain)", "6:cannot connect to the control-api"})
public final class Gpuctl {
    @Option(names = "--server", scope = ScopeType.INHERIT, paramLabel = "URL",
            description = "control-api URL (else GPUCTL_SERVER, else the context's)")
    String server;

    @Option(names = "--token", scope = ScopeType.INHERIT, paramLabel = "TOKEN",
            description = "operator token (else GPUCTL_TOKEN, else the context's)")
    String token;

    @Option(names = "--context", scope = ScopeType.INHERIT, paramLabel = "NAME",
            description = "context of the config file to use (else its current-context)")
    String context;

    @Option(names = "--config", scope = ScopeType.INHERIT, paramLabel = "FILE",
            description = "config file (else GPUCTL_CONFIG, else ~/.gpuctl/config)")
    String config;

    private final Map<String, String> env;
    private final Clock clock;

    Gpuctl(Map<String, String> env, Clock clock) {
        this.env = env;
        this.clock = clock;
    }

    /** Runs one command line; {@code env} stands for the process environment. Returns the exit code. */
    public static int execute(String[] args, PrintWriter out, PrintWriter err, Map<String, String> env) {
        CommandLine cl = commandLine(env, Clock.systemUTC());
        cl.setOut(out);
        cl.setErr(err);
        try {
            return cl.execute(args);
        } finally {
            out.flush();
            err.flush();
        }
    }

    public static CommandLine commandLine(Map<String, String> env, Clock clock) {
        CommandLine cl = new CommandLine(new Gpuctl(env, clock));
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof Failure f) {
                cmd.getErr().println("error: " + f.getMessage());
                return f.exitCode();
            }
            throw e;
        });
        cl.setParameterExceptionHandler((e, args) -> {
            CommandLine cmd = e.getCommandLine();
            cmd.getErr().println("error: " + e.getMessage());
            cmd.getErr().println("See '" + cmd.getCommandSpec().qualifiedName() + " --help' for usage.");
            return Exit.USAGE;
        });
        return cl;
    }

    /** The root of the command a subcommand belongs to. */
    public static Gpuctl of(CommandSpec spec) {
        return (Gpuctl) spec.root().userObject();
    }

    public Clock clock() {
        return clock;
    }

    public ConfigFile configFile(CommandSpec spec) {
        return ConfigFile.load(Connection.configPath(option(spec, "--config"), env));
    }

    /** A client for the control-api this invocation names (flags, then environment, then config file). */
    public ApiClient client(CommandSpec spec) {
        Connection c = Connection.resolve(option(spec, "--server"), option(spec, "--token"), option(spec, "--context"),
                configFile(spec), env);
        return new ApiClient(c.server(), c.token(), Duration.ofSeconds(5));
    }

    /** An inherited option's value wherever on the command line it was given. */
    public static String option(CommandSpec spec, String name) {
        for (CommandSpec s = spec; s != null; s = s.parent()) {
            OptionSpec o = s.findOption(name);
            if (o != null && o.getValue() != null) {
                return o.getValue();
            }
        }
        return null;
    }
}
