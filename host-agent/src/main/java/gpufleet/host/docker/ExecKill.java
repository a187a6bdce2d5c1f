package gpufleet.host.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectExecResponse;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ends a command run in a container that outlived its time, as the CRI runtimes under the kubelet
 * do on an exec probe's timeout: Docker's API has no call to stop one exec, so its process (and
 * what it started) is killed from the host by process id. Only a process that still belongs to the
 * container's cgroup is signalled, so a recycled id never reaches another process of the host;
 * {@link ProcessHandle} also checks the process's start time before it signals.
 */
final class ExecKill {
    private static final Logger log = LoggerFactory.getLogger(ExecKill.class);

    private ExecKill() {}

    /** Kills the exec's process tree if it is still running; whatever fails is logged, the probe's result stands. */
    static void kill(DockerClient client, String execId) {
        InspectExecResponse exec;
        try {
            exec = client.inspectExecCmd(execId).exec();
        } catch (RuntimeException e) {
            log.warn("cannot look up the timed-out exec {}: {}", execId, DockerRuntime.rootMessage(e));
            return;
        }
        Long pid = exec.getPidLong();
        if (!Boolean.TRUE.equals(exec.isRunning()) || pid == null || pid <= 0) {
            return;
        }
        Optional<ProcessHandle> process = ProcessHandle.of(pid);
        if (process.isEmpty()) {
            return;
        }
        if (!inContainer(pid, exec.getContainerID())) {
            log.warn("the timed-out exec {} of container {} has pid {} outside the container; left alone", execId,
                    exec.getContainerID(), pid);
            return;
        }
        // Children first: a shell killed before its child would leave the child to the container's init.
        process.get().descendants().forEach(ProcessHandle::destroyForcibly);
        if (!process.get().destroyForcibly()) {
            log.warn("cannot kill pid {} of the timed-out exec {} in container {}", pid, execId, exec.getContainerID());
        }
    }

    /** Whether the process is in the container's cgroup (its path names the container's full id, cgroup v1 and v2 alike). */
    private static boolean inContainer(long pid, String containerId) {
        if (containerId == null || containerId.length() < 12) {
            return false;
        }
        try {
            return Files.readString(Path.of("/proc", Long.toString(pid), "cgroup")).contains(containerId);
        } catch (IOException e) {
            return false;
        }
    }
}
