package gpufleet.host.workload;

import gpufleet.common.api.HostCondition;
import gpufleet.host.net.PodFirewall;
import gpufleet.host.runtime.ContainerRuntime;
import gpufleet.host.runtime.Network;
import gpufleet.host.runtime.RuntimeFailure;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Each tenant's pod network, found by its labels and used by its id, never by name: Docker lets
 * two networks share a name (two creates that race both succeed, an older agent may have made
 * one), and a name that matches two networks fails every call that uses it. Duplicates are kept
 * apart: the one made as this agent makes it (the firewall's bridge name, which the engine keeps
 * unique) serves the tenant's new pods; a spare is removed once no container uses it, and until
 * then it is reported once, as a host condition, while every pod goes on running.
 */
final class TenantNetworks {
    private static final Logger log = LoggerFactory.getLogger(TenantNetworks.class);
    static final String CONDITION = "PodNetworksUnique";

    private final ContainerRuntime runtime;
    private final Map<String, Object> locks = new ConcurrentHashMap<>();
    /** Tenant → what is wrong with its networks now; a tenant is in here while it has a spare. */
    private final Map<String, String> spares = new ConcurrentHashMap<>();

    TenantNetworks(ContainerRuntime runtime) {
        this.runtime = runtime;
    }

    /** The bridge network of a tenant's pods, by name: what Docker shows, never what the agent looks up by. */
    static String name(String tenant) {
        return "gf-pods-" + tenant;
    }

    /**
     * The pod firewall names the bridge ({@link PodFirewall#bridge}); pods on it do not reach each
     * other (no inter-container traffic: a pod is its own namespace).
     */
    static Map<String, String> options(String tenant) {
        return Map.of("com.docker.network.bridge.name", PodFirewall.bridge(tenant),
                "com.docker.network.bridge.enable_icc", "false");
    }

    /** The id of the tenant's pod network, made if it has none; spares that are empty are removed. */
    String ensure(String tenant) throws RuntimeFailure {
        synchronized (locks.computeIfAbsent(tenant, t -> new Object())) {
            Network serving = sort(tenant);
            if (serving != null) {
                return serving.id();
            }
            // No creates race here (one per tenant at a time); another agent on a shared engine that
            // made the same bridge meanwhile wins, and its network is the one found.
            try {
                return runtime.createNetwork(name(tenant), Map.of(Labels.MANAGED, "true", Labels.TENANT, tenant), options(tenant));
            } catch (RuntimeFailure f) {
                Network made = sort(tenant);
                if (made == null) {
                    throw f;
                }
                return made.id();
            }
        }
    }

    /** Looks again at the tenants that had spares, removing those now empty. */
    void tidy() {
        for (String tenant : List.copyOf(spares.keySet())) {
            try {
                synchronized (locks.computeIfAbsent(tenant, t -> new Object())) {
                    sort(tenant);
                }
            } catch (RuntimeFailure e) {
                log.debug("networks of tenant {} not looked at: {}", tenant, e.getMessage());
            }
        }
    }

    /** True while no tenant has more than one network; otherwise which and why, in one message. */
    HostCondition condition() {
        if (spares.isEmpty()) {
            return new HostCondition(CONDITION, "True", "NoDuplicates", "every tenant has one pod network");
        }
        String message = String.join("; ", new TreeMap<>(spares).values());
        return new HostCondition(CONDITION, "False", "DuplicateNetworks",
                message.length() > 1000 ? message.substring(0, 1000) + "…" : message);
    }

    /** The network that serves the tenant (null: none yet); records or clears its spares. */
    private Network sort(String tenant) throws RuntimeFailure {
        List<Network> all = runtime.networks(Map.of(Labels.MANAGED, "true", Labels.TENANT, tenant)).stream()
                .filter(n -> n.name().equals(name(tenant))).toList();
        Map<String, String> wanted = options(tenant);
        Network serving = all.stream().filter(n -> n.options().entrySet().containsAll(wanted.entrySet()))
                .min(Comparator.comparing((Network n) -> n.created() == null ? Instant.MAX : n.created()).thenComparing(Network::id))
                .orElse(null);
        List<String> kept = new ArrayList<>();
        for (Network n : all) {
            if (n == serving) {
                continue;
            }
            if (n.containers() == 0 && removed(n)) {
                log.info("removed network {} ({}), an empty spare of tenant {}'s pod network", n.id(), n.name(), tenant);
            } else {
                kept.add(n.id().substring(0, Math.min(12, n.id().length())) + " (" + n.containers() + " container(s))");
            }
        }
        record(tenant, kept, serving);
        return serving;
    }

    private boolean removed(Network n) {
        try {
            runtime.removeNetwork(n.id());
            return true;
        } catch (RuntimeFailure e) {
            return false; // a container joined it meanwhile: still a spare, looked at again
        }
    }

    private void record(String tenant, List<String> kept, Network serving) {
        if (kept.isEmpty()) {
            if (spares.remove(tenant) != null) {
                log.info("tenant {} has one pod network again", tenant);
            }
            return;
        }
        String message = "tenant " + tenant + ": network " + name(tenant) + " exists more than once; spare(s) " + String.join(", ", kept)
                + " kept until their pods end" + (serving == null ? "" : ", new pods go to " + serving.id().substring(0, 12));
        if (spares.put(tenant, message) == null) {
            log.warn("{}", message);
        }
    }
}
