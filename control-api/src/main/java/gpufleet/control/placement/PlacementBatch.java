package gpufleet.control.placement;

import gpufleet.control.db.Pipeline;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;

/**
 * Places a batch of new workloads, of any models and sizes, in few statements: one lock per
 * model and GPU count (best fit, skipping hosts other transactions hold), one re-read of every
 * locked host, the fit in memory, then, once the caller has inserted the workloads already on
 * their hosts, one write of every allocation, one bump per host and one statement for the
 * Scheduled events. Inserting a workload placed, instead of inserting it pending and updating
 * it, spares each of them an update of a row with eight indexes and the event trigger's
 * per-row work; a batch of 32 pods over four sizes and three models went from about 50 round
 * trips to about 15, and with the writes sent as one {@link Pipeline} to about 12 (a lone pod:
 * 5, where it made 12). An ask no locked host fits is for {@link Placer#placeIfPending}, alone.
 */
public final class PlacementBatch {
    private static final int MOST_HOSTS = 64;
    /** The event a placement records, as the workload trigger words it for a pod placed later. */
    static final String SCHEDULED = """
            INSERT INTO events (kind, object, host_id, type, reason, message)
            SELECT 'workload', w.id::text, w.host_id, 'Normal', 'Scheduled',
                   'pod ' || w.tenant || ' ' || w.namespace || '/' || w.name || ' placed on host ' || h.name
            FROM unnest(?::uuid[]) AS x (id)
            CROSS JOIN LATERAL (SELECT w.id, w.host_id, w.tenant, w.namespace, w.name FROM workloads w WHERE w.id = x.id LIMIT 1) w
            CROSS JOIN LATERAL (SELECT h.name FROM hosts h WHERE h.id = w.host_id LIMIT 1) h""";

    private PlacementBatch() {}

    /** The asks of one model and GPU count, and the hosts locked for them, best fit first. */
    private record Group(String model, List<Placer.Ask> asks, List<UUID> hosts) {}

    /**
     * Locks hosts and decides where each ask goes; writes nothing but the locks. Returns the
     * decision of every ask placed; the others found no locked host that fits.
     */
    public static Map<UUID, Fit.Placed> decide(Connection c, Map<String, List<Placer.Ask>> byModel) throws SQLException {
        List<Group> groups = new ArrayList<>();
        Map<UUID, String> locked = new LinkedHashMap<>();
        for (Map.Entry<String, List<Placer.Ask>> m : byModel.entrySet()) {
            // Largest first: the search is best fit, so hosts locked for n GPUs have about n free.
            Map<Integer, List<Placer.Ask>> bySize = new TreeMap<>(Comparator.reverseOrder());
            m.getValue().forEach(a -> bySize.computeIfAbsent(a.request().gpus(), k -> new ArrayList<>()).add(a));
            for (List<Placer.Ask> same : bySize.values()) {
                long minCpu = same.stream().mapToLong(a -> a.request().cpuMillis()).min().orElse(0);
                long minMemory = same.stream().mapToLong(a -> a.request().memoryBytes()).min().orElse(0);
                List<UUID> hosts = Placer.lockCandidates(c, m.getKey(), same.get(0).request().gpus(), minCpu, minMemory, List.of(),
                        Math.min(same.size(), MOST_HOSTS), true);
                // A host with GPUs of two models serves the first model that locked it in this batch.
                hosts.removeIf(h -> !locked.getOrDefault(h, m.getKey()).equals(m.getKey()));
                hosts.forEach(h -> locked.putIfAbsent(h, m.getKey()));
                groups.add(new Group(m.getKey(), same, hosts));
            }
        }
        Map<UUID, Fit.Placed> placed = new LinkedHashMap<>();
        if (locked.isEmpty()) {
            return placed;
        }
        boolean topology = byModel.values().stream().flatMap(List::stream).anyMatch(a -> a.request().gpus() > 1);
        Map<UUID, Fit.HostFree> free = Placer.freshMany(c, locked, topology);
        for (Group g : groups) {
            // The group's own hosts first (best fit for its size), then any other host of the model
            // this batch holds: counts read before an earlier size took its share may have misled.
            List<UUID> order = new ArrayList<>(g.hosts());
            locked.forEach((h, model) -> {
                if (model.equals(g.model()) && !g.hosts().contains(h)) {
                    order.add(h);
                }
            });
            for (Placer.Ask a : g.asks()) {
                for (UUID h : order) {
                    Fit.HostFree host = free.get(h);
                    if (host != null && Fit.onHost(a.request(), host) instanceof Fit.Placed p) {
                        Set<String> taken = new HashSet<>();
                        p.gpus().forEach(taken::addAll);
                        free.put(h, new Fit.HostFree(h, host.name(), host.gpus().stream().filter(x -> !taken.contains(x.uuid())).toList(),
                                host.cpuMillis() - a.request().cpuMillis(), host.memoryBytes() - a.request().memoryBytes()));
                        placed.put(a.workloadId(), p);
                        break;
                    }
                }
            }
        }
        return placed;
    }

    /**
     * Adds the writes of the allocations of the asks {@link #decide} placed, whose workloads the
     * caller inserts on their hosts in an earlier step, the bump of those hosts, and each
     * placement's Scheduled event.
     */
    public static void allocate(Pipeline steps, List<Placer.Ask> asks, Map<UUID, Fit.Placed> placed) {
        List<Placer.Ask> done = asks.stream().filter(a -> placed.containsKey(a.workloadId())).toList();
        if (done.isEmpty()) {
            return;
        }
        Placer.allocate(steps, done, done.stream().map(a -> placed.get(a.workloadId())).toList());
        List<UUID> ids = done.stream().map(Placer.Ask::workloadId).toList();
        steps.add(SCHEDULED, b -> b.array(1, "uuid", ids), null);
    }
}
