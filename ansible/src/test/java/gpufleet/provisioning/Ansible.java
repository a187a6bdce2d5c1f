package gpufleet.provisioning;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** ansible-playbook and ansible-lint, run from ansible/ so that its ansible.cfg applies. */
final class Ansible {
    private static final Pattern RECAP = Pattern.compile(
            "^(\\S+)\\s+: ok=(\\d+)\\s+changed=(\\d+)\\s+unreachable=(\\d+)\\s+failed=(\\d+)", Pattern.MULTILINE);
    private static final Map<String, String> ENV = Map.of(
            "ANSIBLE_NOCOLOR", "1",
            "ANSIBLE_FORCE_COLOR", "0",
            "NO_COLOR", "1",
            "PYTHONUNBUFFERED", "1",
            // Task timings at the end of each log.
            "ANSIBLE_CALLBACKS_ENABLED", "ansible.posix.profile_tasks");

    private final Path dir;
    private final Path logs;

    Ansible(Path dir, Path logs) {
        this.dir = dir;
        this.logs = logs;
    }

    /** One host's line of the PLAY RECAP. */
    record Recap(String host, int ok, int changed, int unreachable, int failed) {}

    /** A finished ansible-playbook run. */
    record Run(Commands.Result result, Path log, List<Recap> recap) {
        Recap host(String name) {
            return recap.stream().filter(r -> r.host().equals(name)).findFirst()
                    .orElseThrow(() -> new AssertionError("no PLAY RECAP line for " + name + " in " + log + "\n" + result.tail(40)));
        }

        @Override
        public String toString() {
            return "ansible-playbook (log " + log + ") exit " + result.exitCode() + "\n" + result.tail(80);
        }
    }

    Run playbook(String playbook, Path inventory, String logName) {
        Path log = logs.resolve(logName + ".log");
        long start = System.nanoTime();
        Commands.Result r = Commands.run(dir, ENV, Duration.ofMinutes(15),
                List.of("ansible-playbook", "-i", inventory.toString(), playbook), log);
        long seconds = Duration.ofNanos(System.nanoTime() - start).toSeconds();
        List<Recap> recap = new ArrayList<>();
        Matcher m = RECAP.matcher(r.output());
        while (m.find()) {
            recap.add(new Recap(m.group(1), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)),
                    Integer.parseInt(m.group(4)), Integer.parseInt(m.group(5))));
        }
        // One line per run in the test's output: how long it took and what it changed.
        System.out.printf("%s (%s): exit %d in %d s; %s%n", playbook, logName, r.exitCode(), seconds,
                recap.isEmpty() ? "no PLAY RECAP" : recap.stream().map(h -> h.host() + " ok=" + h.ok() + " changed=" + h.changed()
                        + " failed=" + h.failed()).collect(java.util.stream.Collectors.joining(", ")));
        return new Run(r, log, recap);
    }

    Commands.Result syntaxCheck(String playbook) {
        return Commands.run(dir, ENV, Duration.ofMinutes(2),
                List.of("ansible-playbook", "--syntax-check", "-i", "inventory/example/hosts.yml", playbook));
    }

    Commands.Result lint() {
        return Commands.run(dir, ENV, Duration.ofMinutes(5), List.of("ansible-lint", "--nocolor"), logs.resolve("ansible-lint.log"));
    }
}
