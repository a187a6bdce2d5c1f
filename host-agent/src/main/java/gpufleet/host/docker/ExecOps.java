package gpufleet.host.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Frame;
import gpufleet.host.runtime.ExecResult;
import gpufleet.host.runtime.RuntimeFailure;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Commands run inside a running container, for lifecycle hooks and probes; one past its time is killed. */
final class ExecOps {
    private ExecOps() {}

    static ExecResult exec(DockerClient client, String id, List<String> command, Duration timeout) throws RuntimeFailure {
        String execId;
        try {
            execId = client.execCreateCmd(id).withCmd(command.toArray(String[]::new)).withAttachStdout(true).withAttachStderr(true)
                    .exec().getId();
        } catch (NotFoundException | ConflictException e) {
            throw new RuntimeFailure("ContainerNotRunning", "container " + id + " is not running");
        } catch (RuntimeException e) {
            throw new RuntimeFailure("ExecFailed", DockerRuntime.rootMessage(e));
        }
        StringBuilder out = new StringBuilder();
        ResultCallback.Adapter<Frame> done = new ResultCallback.Adapter<>() {
            @Override
            public void onNext(Frame f) {
                synchronized (out) {
                    if (out.length() < ExecResult.MAX_OUTPUT) {
                        String text = new String(f.getPayload(), StandardCharsets.UTF_8);
                        out.append(text, 0, Math.min(text.length(), ExecResult.MAX_OUTPUT - out.length()));
                    }
                }
            }
        };
        try {
            client.execStartCmd(execId).exec(done);
            boolean ended = done.awaitCompletion(Math.max(1, timeout.toMillis()), TimeUnit.MILLISECONDS);
            done.close();
            if (!ended) {
                // A command past its time is killed, or each timed-out probe would leave one more behind.
                ExecKill.kill(client, execId);
            }
            synchronized (out) {
                if (!ended) {
                    return new ExecResult(-1, out.toString(), true);
                }
                Long code = client.inspectExecCmd(execId).exec().getExitCodeLong();
                return new ExecResult(code == null ? -1 : code.intValue(), out.toString(), false);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RuntimeFailure("ExecFailed", "interrupted");
        } catch (IOException | RuntimeException e) {
            throw new RuntimeFailure("ExecFailed", DockerRuntime.rootMessage(e));
        }
    }
}
