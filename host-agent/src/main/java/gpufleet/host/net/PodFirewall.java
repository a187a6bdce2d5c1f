package gpufleet.host.net;

import gpufleet.common.api.HostCondition;
import gpufleet.host.runtime.RuntimeFailure;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The walls around tenant pods' networks, owned by the host-agent. Every tenant bridge is named
 * {@value #BRIDGE_PREFIX}… so that two fixed rules cover every pod network, present and future:
 * <ul>
 * <li>INPUT from a pod bridge: only replies to connections the host opened (the port relays). A pod
 * reaches none of the host's own addresses: not the agent's stream server, its metrics, the
 * Docker API, nor another pod's relay port.</li>
 * <li>DOCKER-USER (Docker's hook in FORWARD) from a pod bridge: replies, DNS to the host's
 * resolvers, then nothing addressed to a private, shared, link-local (cloud metadata),
 * multicast or reserved range, nor to the networks the operator names (the provider's own);
 * the rest, the internet, is Docker's to forward.</li>
 * </ul>
 * IPv6: pod networks have none, so a pod bridge gets replies only. The chains are replaced
 * atomically (iptables-restore) at start and on every check, and the jumps kept first, so a Docker
 * restart or a flush by someone else is repaired at the next check. Until the walls stand, no pod
 * sandbox is created on this host ({@link #require()}).
 */
public final class PodFirewall {
    private static final Logger log = LoggerFactory.getLogger(PodFirewall.class);
    public static final String BRIDGE_PREFIX = "gfp";
    public static final String CONDITION = "PodNetworkIsolated";
    static final String IN = "GPUFLEET-POD-IN";
    static final String OUT = "GPUFLEET-POD-OUT";
    private static final String REJECT4 = "-j REJECT --reject-with icmp-admin-prohibited";
    private static final String REJECT6 = "-j REJECT --reject-with icmp6-adm-prohibited";
    private static final String REPLIES = "-m conntrack --ctstate ESTABLISHED,RELATED -j RETURN";

    private final boolean enabled;
    private final List<Ipv4Cidr> denied;
    private final List<String> resolvers;
    private final Tables tables;
    private volatile HostCondition condition = new HostCondition(CONDITION, "Unknown", "NotYetChecked", null);

    /** Runs one command (iptables, iptables-restore, ...) with the given input; never through a shell. */
    public interface Tables {
        Result run(List<String> command, String input);

        record Result(int exit, String output) {}
    }

    /**
     * {@code extraDenied}: the provider's own networks on top of {@link Ipv4Cidr#NOT_THE_INTERNET};
     * {@code resolvers}: the DNS servers pods' lookups go to (Docker forwards to the host's).
     */
    public PodFirewall(boolean enabled, List<Ipv4Cidr> extraDenied, List<String> resolvers, Tables tables) {
        this.enabled = enabled;
        List<Ipv4Cidr> all = new ArrayList<>(Ipv4Cidr.NOT_THE_INTERNET);
        extraDenied.stream().filter(c -> !all.contains(c)).forEach(all::add);
        this.denied = List.copyOf(all);
        this.resolvers = resolvers.stream().map(r -> Ipv4Cidr.parse(r + "/32").toString()).toList();
        this.tables = tables;
    }

    /** The Linux bridge of a tenant's pod network: a fixed prefix and a digest of the tenant (15 characters at most). */
    public static String bridge(String tenant) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(tenant.getBytes(StandardCharsets.UTF_8));
            return BRIDGE_PREFIX + HexFormat.of().formatHex(digest).substring(0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
    }

    /** Puts the rules in place (again); returns the condition it leaves. */
    public HostCondition ensure() {
        if (!enabled) {
            return setCondition(new HostCondition(CONDITION, "False", "Disabled", "GPUFLEET_POD_FIREWALL=off: pods can reach this host and its networks"));
        }
        try {
            apply("iptables", rules4(), List.of(new Jump("INPUT", IN), new Jump("DOCKER-USER", OUT)));
            apply("ip6tables", rules6(), List.of(new Jump("INPUT", IN), new Jump("FORWARD", OUT)));
            return setCondition(new HostCondition(CONDITION, "True", "RulesInPlace", null));
        } catch (IllegalStateException e) {
            return setCondition(new HostCondition(CONDITION, "False", "RulesNotApplied", e.getMessage()));
        }
    }

    public HostCondition condition() {
        return condition;
    }

    /** Refuses a pod sandbox while the walls are not known to stand (the pod waits; the next pass tries again). */
    public void require() throws RuntimeFailure {
        if (enabled && !condition.status().equals("True")) {
            throw new RuntimeFailure("CreateContainerError", "this host cannot isolate pod networks right now; the pod starts once it can");
        }
    }

    private HostCondition setCondition(HostCondition c) {
        if (!c.status().equals(condition.status())) {
            if (c.status().equals("True")) {
                log.info("pod network walls in place ({} denied networks, {} resolvers)", denied.size(), resolvers.size());
            } else {
                log.error("pod networks are NOT isolated: {} {}", c.reason(), c.message() == null ? "" : c.message());
            }
        }
        condition = c;
        return c;
    }

    String rules4() {
        StringBuilder s = new StringBuilder("*filter\n:" + IN + " - [0:0]\n:" + OUT + " - [0:0]\n");
        s.append("-A ").append(IN).append(' ').append(REPLIES).append('\n');
        s.append("-A ").append(IN).append(' ').append(REJECT4).append('\n');
        s.append("-A ").append(OUT).append(' ').append(REPLIES).append('\n');
        for (String r : resolvers) {
            s.append("-A ").append(OUT).append(" -d ").append(r).append(" -p udp -m udp --dport 53 -j RETURN\n");
            s.append("-A ").append(OUT).append(" -d ").append(r).append(" -p tcp -m tcp --dport 53 -j RETURN\n");
        }
        for (Ipv4Cidr c : denied) {
            s.append("-A ").append(OUT).append(" -d ").append(c).append(' ').append(REJECT4).append('\n');
        }
        return s.append("COMMIT\n").toString();
    }

    String rules6() {
        return "*filter\n:" + IN + " - [0:0]\n:" + OUT + " - [0:0]\n"
                + "-A " + IN + " " + REPLIES + "\n-A " + IN + " " + REJECT6 + "\n"
                + "-A " + OUT + " " + REPLIES + "\n-A " + OUT + " " + REJECT6 + "\nCOMMIT\n";
    }

    private record Jump(String from, String to) {
        List<String> spec() {
            return List.of(from, "-i", BRIDGE_PREFIX + "+", "-j", to);
        }
    }

    private void apply(String tool, String rules, List<Jump> jumps) {
        check(tool + "-restore", tables.run(List.of(tool + "-restore", "-w", "5", "--noflush"), rules));
        for (Jump j : jumps) {
            if (tables.run(List.of(tool, "-w", "5", "-n", "-L", j.from()), null).exit() != 0) {
                // Docker makes DOCKER-USER when it starts; an agent started first makes it, and Docker keeps it.
                check(tool + " -N " + j.from(), tables.run(List.of(tool, "-w", "5", "-N", j.from()), null));
            }
            String listing = check(tool + " -S " + j.from(), tables.run(List.of(tool, "-w", "5", "-S", j.from()), null));
            String ours = "-A " + String.join(" ", j.spec());
            List<String> present = listing.lines().filter(l -> l.startsWith("-A ")).toList();
            if (!present.isEmpty() && present.get(0).equals(ours) && present.stream().filter(ours::equals).count() == 1) {
                continue;
            }
            // Missing, or not first (a rule before it could accept what it must refuse): put it back on top.
            for (long n = present.stream().filter(ours::equals).count(); n > 0; n--) {
                check(tool + " -D", tables.run(cmd(tool, "-D", j.spec()), null));
            }
            check(tool + " -I", tables.run(cmd(tool, "-I", insertFirst(j.spec())), null));
            log.warn("{}: the jump from {} to {} was missing or not first; put back on top", tool, j.from(), j.to());
        }
    }

    private static List<String> insertFirst(List<String> spec) {
        List<String> s = new ArrayList<>(spec);
        s.add(1, "1");
        return s;
    }

    private static List<String> cmd(String tool, String op, List<String> spec) {
        List<String> c = new ArrayList<>(List.of(tool, "-w", "5", op));
        c.addAll(spec);
        return c;
    }

    private static String check(String what, Tables.Result r) {
        if (r.exit() != 0) {
            String out = r.output().strip();
            // Kept short: it becomes a host condition's message.
            throw new IllegalStateException(what + " failed (exit " + r.exit() + "): " + (out.length() > 400 ? out.substring(0, 400) + "…" : out));
        }
        return r.output();
    }
}
