package gpufleet.control.workload;

import gpufleet.common.Json;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.common.api.WorkloadView;
import gpufleet.control.db.Database;
import gpufleet.control.placement.GpuAsks;
import gpufleet.control.placement.Placer;
import gpufleet.control.quota.Quotas;
import gpufleet.control.quota.TenantLimits;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Group commit for workload creation: requests that arrive together are created and placed in
 * one transaction of a few statements (as the heartbeat batcher does for heartbeats), so a burst
 * of pods costs a handful of round trips instead of a handful each. Only the plain case is
 * batched: a new pod whose offering allows it, within its tenant's workload quota. Anything else
 * (a repeated pod UID, a refused offering, a full quota, no free host to lock, a failed batch)
 * goes back to its caller, which takes the one-at-a-time path with its exact answer.
 */
final class PlacementBatcher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PlacementBatcher.class);
    static final int MAX_BATCH = 64;
    static final long LINGER_NANOS = 2_000_000;

    /** What the batch did for one request. */
    sealed interface Outcome permits Done, Alone, PlaceAlone {}

    record Done(WorkloadStore.Created created) implements Outcome {}

    /** Not batched: create it one at a time. */
    record Alone() implements Outcome {}

    /** Created, but no host could be locked for it in the batch: place it one at a time. */
    record PlaceAlone(UUID id, String model) implements Outcome {}

    /** {@code spec} is the clear part; {@code sealed} its secrets (SpecSecrets), null when it has none. */
    private record Job(String tenant, WorkloadSpec spec, byte[] sealed, CompletableFuture<Outcome> done) {}

    private record Offer(String model, int gpus, long cpuMillis, long memoryBytes) {}

    private final Database db;
    private final Quotas quotas;
    private final LinkedBlockingQueue<Job> queue = new LinkedBlockingQueue<>();
    private final Thread worker;
    private volatile boolean running = true;

    PlacementBatcher(Database db, Quotas quotas) {
        this.db = db;
        this.quotas = quotas;
        this.worker = new Thread(this::loop, "placement-batcher");
        this.worker.setDaemon(true);
        this.worker.start();
    }

    CompletableFuture<Outcome> submit(String tenant, WorkloadSpec spec, byte[] sealed) {
        CompletableFuture<Outcome> f = new CompletableFuture<>();
        if (!running) {
            f.complete(new Alone());
            return f;
        }
        queue.add(new Job(tenant, spec, sealed, f));
        return f;
    }

    private void loop() {
        while (running) {
            List<Job> jobs = new ArrayList<>();
            try {
                jobs.add(queue.take());
            } catch (InterruptedException e) {
                break;
            }
            // Linger a moment for the requests arriving alongside (as group commit does): a batch
            // of one would make every placement pay a whole transaction again.
            long until = System.nanoTime() + LINGER_NANOS;
            try {
                for (long left = LINGER_NANOS; left > 0 && jobs.size() < MAX_BATCH; left = until - System.nanoTime()) {
                    Job next = queue.poll(left, java.util.concurrent.TimeUnit.NANOSECONDS);
                    if (next == null) {
                        break;
                    }
                    jobs.add(next);
                    queue.drainTo(jobs, MAX_BATCH - jobs.size());
                }
            } catch (InterruptedException e) {
                running = false;
            }
            Map<Job, Outcome> outcomes = new HashMap<>();
            try {
                db.tx(c -> {
                    outcomes.clear();
                    batch(c, quotas, jobs, outcomes);
                    return null;
                });
            } catch (RuntimeException e) {
                log.info("placement batch of {} failed, each goes alone: {}", jobs.size(), e.getMessage());
                outcomes.clear();
            }
            for (Job j : jobs) {
                j.done().complete(outcomes.getOrDefault(j, new Alone()));
            }
        }
        for (Job j = queue.poll(); j != null; j = queue.poll()) {
            j.done().complete(new Alone());
        }
    }

    private static void batch(Connection c, Quotas quotas, List<Job> jobs, Map<Job, Outcome> outcomes) throws SQLException {
        Set<String> keys = new HashSet<>();
        List<Job> fresh = new ArrayList<>();
        for (Job j : jobs) {
            if (keys.add(j.tenant() + "\u0000" + j.spec().podUid())) {
                fresh.add(j);
            }
        }
        Set<String> existing = existing(c, fresh);
        Map<String, Offer> offers = offers(c, fresh);
        List<Job> batched = new ArrayList<>();
        for (Job j : fresh) {
            Offer o = offers.get(j.tenant() + "\u0000" + j.spec().offering());
            WorkloadSpec s = j.spec();
            boolean fits = o != null && s.gpus() >= 1 && s.gpus() <= o.gpus() && s.cpuMillis() <= o.cpuMillis()
                    && s.memoryBytes() <= o.memoryBytes();
            if (fits && !existing.contains(j.tenant() + "\u0000" + s.podUid())) {
                batched.add(j);
            }
        }
        batched = withinQuota(c, quotas, batched);
        if (batched.isEmpty()) {
            return;
        }
        Map<UUID, Job> byId = new LinkedHashMap<>();
        batched.forEach(j -> byId.put(UUID.randomUUID(), j));
        insert(c, byId);
        Map<String, List<Placer.Ask>> byModel = new LinkedHashMap<>();
        byId.forEach((id, j) -> byModel.computeIfAbsent(offers.get(j.tenant() + "\u0000" + j.spec().offering()).model(),
                m -> new ArrayList<>()).add(new Placer.Ask(id, j.tenant(), WorkloadStore.request(j.spec(), m(offers, j)),
                GpuAsks.of(j.spec()).containers())));
        Set<UUID> placed = new HashSet<>();
        for (Map.Entry<String, List<Placer.Ask>> e : byModel.entrySet()) {
            placed.addAll(Placer.placeMany(c, e.getKey(), e.getValue()).keySet());
        }
        Map<UUID, WorkloadView> views = new HashMap<>();
        WorkloadViews.byIds(c, new ArrayList<>(placed)).forEach(v -> views.put(v.id(), v));
        byId.forEach((id, j) -> outcomes.put(j, placed.contains(id) ? new Done(new WorkloadStore.Created(views.get(id), true))
                : new PlaceAlone(id, m(offers, j))));
    }

    /**
     * The jobs that fit in their tenants' workload quotas, counted with the tenants locked; the
     * rest go alone, where they get the exact refusal.
     */
    private static List<Job> withinQuota(Connection c, Quotas quotas, List<Job> jobs) throws SQLException {
        List<String> tenants = jobs.stream().map(Job::tenant).distinct().sorted().toList();
        Map<String, TenantLimits> limits = quotas.lock(c, tenants);
        Map<String, Long> used = new HashMap<>(Quotas.liveWorkloads(c, tenants));
        List<Job> out = new ArrayList<>();
        for (Job j : jobs) {
            TenantLimits l = limits.get(j.tenant());
            long n = used.getOrDefault(j.tenant(), 0L);
            if (l != null && n < l.maxWorkloads()) {
                used.put(j.tenant(), n + 1);
                out.add(j);
            }
        }
        return out;
    }

    private static String m(Map<String, Offer> offers, Job j) {
        return offers.get(j.tenant() + "\u0000" + j.spec().offering()).model();
    }

    private static Set<String> existing(Connection c, List<Job> jobs) throws SQLException {
        Set<String> out = new HashSet<>();
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT w.tenant, w.pod_uid FROM workloads w
                JOIN unnest(?::text[], ?::text[]) AS x (tenant, pod_uid) ON w.tenant = x.tenant AND w.pod_uid = x.pod_uid""")) {
            ps.setArray(1, c.createArrayOf("text", jobs.stream().map(Job::tenant).toArray()));
            ps.setArray(2, c.createArrayOf("text", jobs.stream().map(j -> j.spec().podUid()).toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1) + "\u0000" + rs.getString(2));
                }
            }
        }
        return out;
    }

    /** The offerings each tenant may use, among those asked for. */
    private static Map<String, Offer> offers(Connection c, List<Job> jobs) throws SQLException {
        Map<String, Offer> out = new HashMap<>();
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT DISTINCT x.tenant, o.name, o.gpu_model, o.gpu_count, o.cpu_millis, o.memory_bytes
                FROM unnest(?::text[], ?::text[]) AS x (tenant, offering)
                JOIN offerings o ON o.name = x.offering
                JOIN tenant_offerings t ON t.offering = o.name AND t.tenant = x.tenant""")) {
            ps.setArray(1, c.createArrayOf("text", jobs.stream().map(Job::tenant).toArray()));
            ps.setArray(2, c.createArrayOf("text", jobs.stream().map(j -> j.spec().offering()).toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getString(1) + "\u0000" + rs.getString(2), new Offer(rs.getString(3), rs.getInt(4), rs.getLong(5),
                            rs.getLong(6)));
                }
            }
        }
        return out;
    }

    private static void insert(Connection c, Map<UUID, Job> byId) throws SQLException {
        List<Object> ids = new ArrayList<>();
        List<Object> tenants = new ArrayList<>();
        List<Object> pods = new ArrayList<>();
        List<Object> namespaces = new ArrayList<>();
        List<Object> names = new ArrayList<>();
        List<Object> offerings = new ArrayList<>();
        List<Object> specs = new ArrayList<>();
        List<Object> gpus = new ArrayList<>();
        List<Object> cpus = new ArrayList<>();
        List<Object> memories = new ArrayList<>();
        List<Object> sealed = new ArrayList<>();
        try {
            for (Map.Entry<UUID, Job> e : byId.entrySet()) {
                WorkloadSpec s = e.getValue().spec();
                ids.add(e.getKey());
                tenants.add(e.getValue().tenant());
                pods.add(s.podUid());
                namespaces.add(s.namespace());
                names.add(s.name());
                offerings.add(s.offering());
                specs.add(Json.mapper().writeValueAsString(s));
                gpus.add(s.gpus());
                cpus.add(s.cpuMillis());
                memories.add(s.memoryBytes());
                sealed.add(e.getValue().sealed() == null ? null : Base64.getEncoder().encodeToString(e.getValue().sealed()));
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO workloads (id, tenant, pod_uid, namespace, name, offering, spec, gpu_count, cpu_millis, memory_bytes, phase,
                    sealed_secrets)
                SELECT x.id, x.tenant, x.pod, x.ns, x.name, x.offering, x.spec::jsonb, x.gpus, x.cpu, x.memory, 'pending',
                       decode(x.sealed, 'base64')
                FROM unnest(?::uuid[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::int[], ?::bigint[], ?::bigint[],
                            ?::text[])
                     AS x (id, tenant, pod, ns, name, offering, spec, gpus, cpu, memory, sealed)""")) {
            ps.setArray(1, c.createArrayOf("uuid", ids.toArray()));
            ps.setArray(2, c.createArrayOf("text", tenants.toArray()));
            ps.setArray(3, c.createArrayOf("text", pods.toArray()));
            ps.setArray(4, c.createArrayOf("text", namespaces.toArray()));
            ps.setArray(5, c.createArrayOf("text", names.toArray()));
            ps.setArray(6, c.createArrayOf("text", offerings.toArray()));
            ps.setArray(7, c.createArrayOf("text", specs.toArray()));
            ps.setArray(8, c.createArrayOf("int4", gpus.toArray()));
            ps.setArray(9, c.createArrayOf("int8", cpus.toArray()));
            ps.setArray(10, c.createArrayOf("int8", memories.toArray()));
            ps.setArray(11, c.createArrayOf("text", sealed.toArray()));
            ps.executeUpdate();
        }
    }

    @Override
    public void close() {
        running = false;
        worker.interrupt();
    }
}
