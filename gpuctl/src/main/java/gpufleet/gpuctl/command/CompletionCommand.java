package gpufleet.gpuctl.command;

import gpufleet.gpuctl.Exit;
import gpufleet.gpuctl.Failure;
import java.util.concurrent.Callable;
import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** gpuctl completion bash|zsh: a completion script for the shell (zsh loads it through bashcompinit). */
@Command(name = "completion", description = "Print a shell completion script: source <(gpuctl completion bash)")
public final class CompletionCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "SHELL", description = "bash or zsh")
    String shell;

    @Override
    public Integer call() {
        if (!shell.equals("bash") && !shell.equals("zsh")) {
            throw Failure.usage("gpuctl completes in bash and zsh, not '" + shell + "'");
        }
        spec.commandLine().getOut().print(AutoComplete.bash("gpuctl", spec.root().commandLine()));
        return Exit.OK;
    }
}
