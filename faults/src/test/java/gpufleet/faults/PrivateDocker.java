package gpufleet.faults;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A Docker Engine of the fault tests' own: a second dockerd on its own socket, data root and
 * default bridge (no NAT, no iptables of its own), with live-restore, as Ansible configures
 * production hosts, in a network namespace of its own. Restarting it cannot disturb the machine's
 * engine or other tests. The namespace matters: a host-agent names each tenant's bridge after the
 * tenant, so a second engine on the machine's network would take over the machine engine's
 * bridge of the same tenant and give it another subnet (it did: the pods of that tenant on the
 * machine's engine became unreachable). Never {@code --bridge=none}: a dockerd started so deletes
 * the machine's docker0.
 */
final class PrivateDocker implements AutoCloseable {
    final Path dir;
    final String host;
    private Process daemon;

    PrivateDocker(Path dir) throws IOException {
        this.dir = dir;
        Files.createDirectories(dir.resolve("data"));
        Files.createDirectories(dir.resolve("exec"));
        this.host = "unix://" + dir.resolve("docker.sock");
        Commands.run("ip", "netns", "add", NETNS);
        Commands.run("ip", "-n", NETNS, "link", "set", "lo", "up");
        Commands.run("ip", "-n", NETNS, "link", "add", "name", BRIDGE, "type", "bridge");
        Commands.run("ip", "-n", NETNS, "addr", "add", "10.231.255.1/24", "dev", BRIDGE);
        Commands.run("ip", "-n", NETNS, "link", "set", BRIDGE, "up");
        // Its own configuration file: the machine's /etc/docker/daemon.json is the machine engine's.
        Files.writeString(dir.resolve("daemon.json"), """
                {"live-restore": true, "runtimes": {"nvidia": {"path": "/usr/sbin/runc"}}}
                """);
        try {
            start();
        } catch (IOException | IllegalStateException e) {
            Commands.lenient(List.of("ip", "netns", "delete", NETNS));
            throw e;
        }
        // The test images, from the machine's engine: this one pulls nothing.
        for (String image : List.of("gpufleet/busybox:test", "gpufleet/pause:test")) {
            Commands.run("sh", "-c", "docker save " + image + " | docker -H " + host + " load -q");
        }
    }

    /** Its network namespace, named after this JVM: a run beside a long soak (dev/chaos.sh) keeps its own. */
    static final String NETNS = "gffault" + ProcessHandle.current().pid();
    /** Its default bridge, made in its namespace: dockerd takes an existing interface for {@code --bridge}. */
    static final String BRIDGE = "gffault0";

    void start() throws IOException {
        // nsenter, not ip netns exec: that one remounts /sys, where dockerd would then find no cgroups.
        daemon = new ProcessBuilder("nsenter", "--net=/var/run/netns/" + NETNS, "dockerd", "-H", host, "--data-root", dir.resolve("data").toString(),
                "--exec-root", dir.resolve("exec").toString(), "--pidfile", dir.resolve("docker.pid").toString(),
                "--config-file", dir.resolve("daemon.json").toString(), "--iptables=false", "--ip6tables=false", "--bridge=" + BRIDGE)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("dockerd.log").toFile()))
                .start();
        for (int i = 0; i < 300; i++) {
            try {
                Commands.run("docker", "-H", host, "info", "--format", "{{.ServerVersion}}");
                return;
            } catch (IllegalStateException notYet) {
                sleep(100);
            }
        }
        throw new IllegalStateException("the private dockerd did not start; see " + dir.resolve("dockerd.log"));
    }

    /** A restart as an operator or a package upgrade does it: SIGTERM, wait, start again. */
    void restart() throws IOException {
        stop();
        start();
    }

    void stop() {
        daemon.destroy();
        try {
            if (!daemon.waitFor(60, TimeUnit.SECONDS)) {
                daemon.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    String cli(String... args) {
        String[] cmd = new String[args.length + 3];
        cmd[0] = "docker";
        cmd[1] = "-H";
        cmd[2] = host;
        System.arraycopy(args, 0, cmd, 3, args.length);
        return Commands.run(cmd);
    }

    @Override
    public void close() {
        try {
            String ids = cli("ps", "-aq").strip();
            if (!ids.isEmpty()) {
                Commands.run(("docker -H " + host + " rm -f " + ids.replace('\n', ' ')).split(" "));
            }
        } catch (IllegalStateException e) {
            // the daemon is down already
        }
        stop();
        // Its namespace goes in any case, and with it the bridges the engine made there.
        Commands.lenient(List.of("ip", "netns", "delete", NETNS));
        try {
            // dockerd leaves mounts behind when it stops (its data root on itself, network namespaces): deepest first.
            List<String> mounts = Files.readAllLines(Path.of("/proc/mounts")).stream().map(l -> l.split(" ")[1])
                    .filter(m -> m.startsWith(dir + "/")).sorted(java.util.Comparator.reverseOrder()).toList();
            for (String m : mounts) {
                Commands.run("umount", m);
            }
            Commands.run("rm", "-rf", dir.toString());
        } catch (IOException e) {
            // /proc/mounts unreadable: the temporary directory stays, nothing else
        } catch (IllegalStateException e) {
            // a mount the daemon left: the temporary directory stays, nothing else
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
