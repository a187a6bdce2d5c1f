package gpufleet.host.workload;

import gpufleet.host.listen.Admission;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes pod ports reachable from the edge. Docker cannot add a port binding to a running
 * container (the pod's pause container holds its network), so the agent listens on the host's
 * publish address itself, one ephemeral port per published pod port, and relays each connection
 * to the pod's address on its tenant network. A listener keeps its port for the life of the
 * workload on this agent, so the reported mapping only changes when the agent restarts.
 */
final class PortRelay implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PortRelay.class);

    private final InetAddress address;
    private final String advertised;
    private final Map<String, Map<Integer, RelayListener>> byWorkload = new HashMap<>();
    /** "workload/port: reason" of listeners that could not be opened, so each failure is logged once. */
    private final Set<String> failures = new HashSet<>();
    private final RelayLimits limits;
    /** Shared by every listener: the host-wide and per-address bounds. */
    private final Admission admission;
    private boolean closed;

    PortRelay(InetAddress address) {
        this(address, RelayLimits.DEFAULT);
    }

    PortRelay(InetAddress address, RelayLimits limits) {
        this.address = address;
        this.limits = limits;
        this.admission = new Admission(limits.connections(), limits.perSource());
        String host = address.getHostAddress();
        this.advertised = address instanceof Inet6Address ? "[" + host.replaceFirst("%.*$", "") + "]" : host;
    }

    /**
     * Makes the workload's listeners exactly one per port in {@code ports}, each forwarding to
     * {@code podAddress} on that port. A null {@code podAddress} (the pod has no running sandbox
     * right now) keeps the listeners and their ports but refuses connections. Returns container
     * port → "address:port" for each port that forwards.
     */
    synchronized Map<String, String> publish(String workload, String podAddress, Collection<Integer> ports) {
        if (closed) {
            return Map.of();
        }
        Map<Integer, RelayListener> mine = byWorkload.computeIfAbsent(workload, w -> new HashMap<>());
        mine.entrySet().removeIf(e -> {
            if (ports.contains(e.getKey())) {
                return false;
            }
            log.info("workload {}: port {} no longer published (was {}:{})", workload, e.getKey(), advertised, e.getValue().port());
            e.getValue().close();
            return true;
        });
        Map<String, String> out = new TreeMap<>();
        for (int port : Set.copyOf(ports)) {
            if (port < 1 || port > 65535) {
                continue; // The control-api checks ports; a bad one here publishes nothing rather than failing the pod.
            }
            InetSocketAddress target = podAddress == null ? null : new InetSocketAddress(podAddress, port);
            RelayListener l = mine.get(port);
            if (l == null) {
                l = open(workload, port, target);
                if (l == null) {
                    continue;
                }
                mine.put(port, l);
            } else if (target == null ? l.target() != null : !target.equals(l.target())) {
                log.info("workload {}: port {} on {}:{} now forwards to {}", workload, port, advertised, l.port(), describe(target));
                l.target(target);
            }
            if (target != null) {
                out.put(Integer.toString(port), advertised + ":" + l.port());
            }
        }
        if (mine.isEmpty()) {
            byWorkload.remove(workload);
        }
        return out;
    }

    private RelayListener open(String workload, int port, InetSocketAddress target) {
        try {
            RelayListener l = new RelayListener(workload.substring(0, Math.min(8, workload.length())) + "-" + port, address, target,
                    limits, admission);
            failures.removeIf(f -> f.startsWith(workload + "/" + port + ":"));
            log.info("workload {}: port {} published on {}:{}, forwards to {}", workload, port, advertised, l.port(), describe(target));
            return l;
        } catch (IOException e) {
            if (failures.add(workload + "/" + port + ": " + e.getMessage())) {
                log.warn("workload {}: cannot publish port {} on {}: {}", workload, port, advertised, e.getMessage());
            }
            return null;
        }
    }

    private static String describe(InetSocketAddress target) {
        return target == null ? "nothing until the pod's sandbox runs (connections are closed)"
                : target.getAddress().getHostAddress() + ":" + target.getPort();
    }

    /** Closes the workload's listeners and their connections. */
    synchronized void unpublish(String workload) {
        Map<Integer, RelayListener> mine = byWorkload.remove(workload);
        if (mine != null) {
            mine.values().forEach(RelayListener::close);
            log.info("workload {}: ports {} no longer published", workload, new TreeMap<>(mine).keySet());
        }
        failures.removeIf(f -> f.startsWith(workload + "/"));
    }

    /** Closes the listeners of every workload not in {@code workloads}. */
    synchronized void retain(Set<String> workloads) {
        for (String w : Set.copyOf(byWorkload.keySet())) {
            if (!workloads.contains(w)) {
                unpublish(w);
            }
        }
    }

    /** The listening port of a workload's published port, or -1 (for tests and logs). */
    synchronized int port(String workload, int containerPort) {
        RelayListener l = byWorkload.getOrDefault(workload, Map.of()).get(containerPort);
        return l == null ? -1 : l.port();
    }

    @Override
    public synchronized void close() {
        closed = true;
        byWorkload.values().forEach(m -> m.values().forEach(RelayListener::close));
        byWorkload.clear();
    }
}
