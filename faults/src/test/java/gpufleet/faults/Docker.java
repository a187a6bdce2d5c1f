package gpufleet.faults;

import java.util.ArrayList;
import java.util.List;

/** What the Docker Engine holds, read with its own CLI (the processes under test hold the API). */
final class Docker {
    private Docker() {}

    /** One container the agents made: its id, workload, container name, state and the GPUs pinned in its environment. */
    record Box(String id, String host, String workload, String container, boolean running, List<String> gpus) {}

    static List<Box> managed() {
        return managed("unix:///var/run/docker.sock");
    }

    /** The agents' containers on the engine at {@code engine} (a Docker host URL). */
    static List<Box> managed(String engine) {
        String ids = Commands.run("docker", "-H", engine, "ps", "-aq", "--filter", "label=org.gpufleet.managed=true").strip();
        List<Box> out = new ArrayList<>();
        if (ids.isEmpty()) {
            return out;
        }
        List<String> cmd = new ArrayList<>(List.of("docker", "-H", engine, "inspect", "--format",
                "{{.Id}}|{{index .Config.Labels \"org.gpufleet.host\"}}|{{index .Config.Labels \"org.gpufleet.workload\"}}"
                        + "|{{index .Config.Labels \"org.gpufleet.container\"}}|{{.State.Running}}|{{range .Config.Env}}{{.}};{{end}}"));
        cmd.addAll(List.of(ids.split("\\s+")));
        for (String line : inspect(cmd)) {
            String[] f = line.split("\\|", -1);
            List<String> gpus = new ArrayList<>();
            for (String e : f[5].split(";")) {
                if (e.startsWith("NVIDIA_VISIBLE_DEVICES=") && !e.endsWith("=void")) {
                    gpus.addAll(List.of(e.substring("NVIDIA_VISIBLE_DEVICES=".length()).split(",")));
                }
            }
            out.add(new Box(f[0], f[1], f[2], f[3], Boolean.parseBoolean(f[4]), gpus));
        }
        return out;
    }

    /** docker inspect's lines for the containers that still exist: one removed since the listing is no error. */
    private static List<String> inspect(List<String> cmd) {
        return Commands.lenient(cmd).lines().filter(l -> l.chars().filter(c -> c == '|').count() >= 5).toList();
    }

    static void removeContainersOf(String host) {
        String ids = Commands.run("docker", "ps", "-aq", "--filter", "label=org.gpufleet.host=" + host).strip();
        if (!ids.isEmpty()) {
            List<String> cmd = new ArrayList<>(List.of("docker", "rm", "-f"));
            cmd.addAll(List.of(ids.split("\\s+")));
            Commands.run(cmd.toArray(String[]::new));
        }
    }
}
