package gpufleet.provisioning;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

/**
 * A stand-in for a bare-metal Debian 12 server: a container of the image that dev/services.sh
 * builds with debootstrap, with systemd as PID 1, reached by Ansible through the
 * community.docker.docker connection. Units, users, packages and daemons (dockerd included)
 * are real; only the kernel is shared with the test machine.
 */
final class StandInHost implements AutoCloseable {
    static final String IMAGE = "gpufleet/bookworm-host:test";
    static final String LABEL = "org.gpufleet.test=provisioning";
    /**
     * Downloaded packages, kept between test runs so each .deb is fetched once; one volume per
     * kind of stand-in, as stand-ins of different kinds run at the same time.
     */
    static final String APT_CACHE_VOLUME = "gpufleet-ansible-apt-cache-";
    /**
     * The stand-ins' own network, made by the tests with an explicit subnet and gateway, so the
     * address at which they reach this machine is known rather than read from Docker's default
     * bridge (whose IPAM record has no gateway on a dockerd that was just started).
     */
    static final String NETWORK = "gpufleet-provisioning";
    static final String SUBNET = "10.213.57.0/24";
    /** This machine's address on {@link #NETWORK}: the bridge's own address. */
    static final String GATEWAY = "10.213.57.1";

    final String container;

    private StandInHost(String container) {
        this.container = container;
    }

    /** Starts one and waits until systemd has finished booting it. */
    static StandInHost start(String role, String hostName, List<String> extraArgs) {
        String name = "gpufleet-ansible-" + role + "-" + UUID.randomUUID().toString().substring(0, 8).toLowerCase(Locale.ROOT);
        List<String> cmd = new ArrayList<>(List.of("docker", "run", "--detach", "--name", name, "--hostname", hostName,
                "--label", LABEL, "--network", network(),
                // systemd and a nested dockerd need most of what --privileged gives. Capabilities are
                // listed rather than --privileged because some machines (this project's sandboxes)
                // lack CAP_SYS_RESOURCE, which --privileged would ask for; neither needs it.
                "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
                "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
                "--tmpfs", "/run", "--tmpfs", "/run/lock",
                "--stop-signal", "SIGRTMIN+3",
                // dockerd inside needs a filesystem that is not overlayfs under /var/lib/docker.
                "--volume", "/var/lib/docker",
                "--volume", APT_CACHE_VOLUME + role + ":/var/cache/apt/archives"));
        cmd.addAll(cgroupArgs());
        cmd.addAll(extraArgs);
        cmd.add(IMAGE);
        cmd.addAll(initCommand());
        Commands.check(cmd.toArray(String[]::new));
        StandInHost host = new StandInHost(name);
        host.awaitBoot();
        return host;
    }

    /**
     * cgroup v1 (and hybrid): systemd needs the hierarchy writable, so it gets the machine's
     * and places itself in the container's own cgroup. cgroup v2: a private cgroup namespace,
     * remounted writable before systemd starts.
     */
    private static List<String> cgroupArgs() {
        return cgroupV2() ? List.of("--cgroupns", "private")
                : List.of("--cgroupns", "host", "--volume", "/sys/fs/cgroup:/sys/fs/cgroup:rw");
    }

    private static List<String> initCommand() {
        return cgroupV2() ? List.of("/bin/sh", "-c", "mount -o remount,rw /sys/fs/cgroup && exec /sbin/init") : List.of();
    }

    private static boolean cgroupV2() {
        return "2".equals(Commands.check("docker", "info", "--format", "{{.CgroupVersion}}"));
    }

    private void awaitBoot() {
        // "degraded" is a booted system with a failed unit (a stand-in has some, e.g. no console).
        for (int i = 0; i < 120; i++) {
            Commands.Result r = Commands.run(null, java.util.Map.of(), java.time.Duration.ofSeconds(30),
                    List.of("docker", "exec", container, "systemctl", "is-system-running"));
            String state = r.output().trim();
            if (state.equals("running") || state.equals("degraded")) {
                return;
            }
            sleep(500);
        }
        throw new AssertionError(container + " did not finish booting: " + Commands.run(null, java.util.Map.of(),
                java.time.Duration.ofSeconds(30), List.of("docker", "exec", container, "systemctl", "--failed")));
    }

    /** True while the container runs (a server switched off is not). */
    boolean running() {
        return Commands.check("docker", "inspect", "--format", "{{.State.Running}}", container).strip().equals("true");
    }

    /** Starts a stopped or killed stand-in again, with its disk as it was, and waits for it to boot. */
    void restart() {
        Commands.check("docker", "start", container);
        awaitBoot();
    }

    String exec(String... command) {
        List<String> cmd = new ArrayList<>(List.of("docker", "exec", container));
        cmd.addAll(List.of(command));
        return Commands.check(cmd.toArray(String[]::new));
    }

    void copyIn(String source, String target) {
        Commands.check("docker", "cp", source, container + ":" + target);
    }

    /**
     * The stand-ins' network, created if missing; one left by an earlier run is reused only if it
     * still has the subnet and gateway asked for.
     */
    static synchronized String network() {
        String format = "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}";
        Commands.Result found = Commands.run(null, java.util.Map.of(), java.time.Duration.ofSeconds(30),
                List.of("docker", "network", "inspect", NETWORK, "--format", format));
        if (found.ok() && found.output().trim().equals(SUBNET + " " + GATEWAY)) {
            return NETWORK;
        }
        if (found.ok()) {
            Commands.check("docker", "network", "rm", NETWORK);
        }
        Commands.check("docker", "network", "create", "--driver", "bridge", "--label", LABEL,
                "--subnet", SUBNET, "--gateway", GATEWAY, NETWORK);
        return NETWORK;
    }

    /** The stand-in's address on {@link #NETWORK} (its default IPv4 address, as Ansible sees it). */
    String address() {
        return Commands.check("docker", "inspect", "--format",
                "{{(index .NetworkSettings.Networks \"" + NETWORK + "\").IPAddress}}", container);
    }

    /** Removes stand-ins left by an earlier run that was killed. */
    static void removeLeftovers() {
        String ids = Commands.check("docker", "ps", "--all", "--quiet", "--filter", "label=" + LABEL);
        for (String id : ids.split("\\s+")) {
            if (!id.isBlank()) {
                Commands.check("docker", "rm", "--force", "--volumes", id);
            }
        }
    }

    /** Removes the container (and its /var/lib/docker volume) unless GPUFLEET_KEEP_STAND_INS is set. */
    @Override
    public void close() {
        if (System.getenv("GPUFLEET_KEEP_STAND_INS") != null) {
            System.out.println("keeping " + container + " (GPUFLEET_KEEP_STAND_INS is set)");
            return;
        }
        Commands.check("docker", "rm", "--force", "--volumes", container);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
