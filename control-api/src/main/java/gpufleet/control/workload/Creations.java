package gpufleet.control.workload;

import com.fasterxml.jackson.core.JsonProcessingException;
import gpufleet.common.Json;
import gpufleet.common.Quantity;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.common.api.WorkloadView;
import gpufleet.control.db.Database;
import gpufleet.control.db.Pipeline;
import gpufleet.control.http.ApiException;
import gpufleet.control.http.ErrorKind;
import gpufleet.control.placement.Fit;
import gpufleet.control.placement.GpuAsks;
import gpufleet.control.placement.PlacementBatch;
import gpufleet.control.placement.Placer;
import gpufleet.control.quota.Quotas;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one path of a create, for a lone pod and for a burst alike. Requests that arrive while a
 * batch is being written wait for the next one and are written together (group commit): a burst
 * costs a few statements per batch instead of a few per pod, and a lone request waits for
 * nothing, as there is no lingering for company. Two workers write batches at the same time,
 * each pod UID always to the same one (so one replica never races itself to insert a pod):
 * while one waits for PostgreSQL, the other's statements run. Each request gets its exact
 * answer: its pod's workload when the pod UID is known (409 when another of the tenant's
 * clusters owns it), the refusal of its offering, its limits or its tenant's quota
 * ({@link CreationQuota}), or its new workload, placed when the batch could lock a fitting
 * host. The rest are placed right after, each in its own transaction, where a placement may
 * wait for a host another transaction holds, or is left pending with the reason nothing fits
 * ({@link Placer#placeIfPending}, which the pending placer uses too).
 */
final class Creations implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Creations.class);
    static final int MAX_BATCH = 64;
    static final int WORKERS = 2;
    /** How long a create waits for its batch; past it, the answer is 503 and the same create may be sent again. */
    private static final long ANSWER_SECONDS = 30;

    /** What the batch did for one request. */
    private sealed interface Outcome permits Answer, Refusal, Unplaced {}

    private record Answer(WorkloadStore.Created created) implements Outcome {}

    private record Refusal(RuntimeException error) implements Outcome {}

    /** Stored, but no host could be locked for it in the batch: placed alone after it. */
    private record Unplaced(UUID id, String model) implements Outcome {}

    /** {@code spec} is the clear part; {@code sealed} its secrets (SpecSecrets), null when it has none. */
    private record Job(String tenant, WorkloadSpec spec, byte[] sealed, CompletableFuture<Outcome> done) {
        String key() {
            return tenant + "\u0000" + spec.podUid();
        }

        String cluster() {
            return spec.cluster() == null ? WorkloadStore.DEFAULT_CLUSTER : spec.cluster();
        }

        String offerKey() {
            return tenant + "\u0000" + spec.offering();
        }
    }

    /** An offering a tenant may use: its model and the most a pod of it may ask. */
    private record Offer(String model, int gpus, long cpuMillis, long memoryBytes) {}

    /**
     * Every statement of a batch finds its rows by key, whatever its parameters and the tables'
     * statistics (CreationPlansIT, PlacementPlansIT): so each is planned once per connection, not
     * at every batch (PostgreSQL kept planning the candidate search anew: 0.5 ms of a lone
     * create's 6), and never as a scan of a table, which a tenant holding every workload made the
     * cheaper plan for its count once the table was analyzed.
     */
    static final List<String> SETTINGS = List.of("plan_cache_mode = force_generic_plan", "enable_seqscan = off");
    /** The cluster of each pod already a workload, looked up by key. */
    static final String EXISTING = """
            SELECT x.tenant, x.pod_uid, known.cluster FROM unnest(?::text[], ?::text[]) AS x (tenant, pod_uid)
            CROSS JOIN LATERAL (SELECT w.cluster FROM workloads w WHERE w.tenant = x.tenant AND w.pod_uid = x.pod_uid LIMIT 1) known""";
    /** The offerings asked for that each tenant may use. */
    static final String OFFERS = """
            SELECT DISTINCT x.tenant, o.name, o.gpu_model, o.gpu_count, o.cpu_millis, o.memory_bytes
            FROM unnest(?::text[], ?::text[]) AS x (tenant, offering)
            JOIN offerings o ON o.name = x.offering
            JOIN tenant_offerings t ON t.offering = o.name AND t.tenant = x.tenant""";
    /** The new workloads, placed or pending. */
    static final String INSERT = """
            INSERT INTO workloads (id, tenant, pod_uid, namespace, name, offering, spec, gpu_count, cpu_millis, memory_bytes, phase,
                sealed_secrets, host_id)
            SELECT x.id, x.tenant, x.pod, x.ns, x.name, x.offering, x.spec::jsonb, x.gpus, x.cpu, x.memory,
                   CASE WHEN x.host IS NULL THEN 'pending' ELSE 'placed' END, decode(x.sealed, 'base64'), x.host
            FROM unnest(?::uuid[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::int[], ?::bigint[], ?::bigint[],
                        ?::text[], ?::uuid[])
                 AS x (id, tenant, pod, ns, name, offering, spec, gpus, cpu, memory, sealed, host)""";

    private final Database db;
    private final CreationQuota quota;
    private final List<LinkedBlockingQueue<Job>> queues = new ArrayList<>();
    private final List<Thread> workers = new ArrayList<>();
    private volatile boolean running = true;

    Creations(Database db, Quotas quotas) {
        this.db = db;
        this.quota = new CreationQuota(quotas);
        for (int i = 0; i < WORKERS; i++) {
            LinkedBlockingQueue<Job> queue = new LinkedBlockingQueue<>();
            Thread worker = new Thread(() -> loop(queue), "creations-" + i);
            worker.setDaemon(true);
            queues.add(queue);
            workers.add(worker);
            worker.start();
        }
    }

    /** Creates the workload and places it if it fits (see the class comment); throws the refusal. */
    WorkloadStore.Created create(String tenant, WorkloadSpec spec, byte[] sealed) {
        CompletableFuture<Outcome> f = new CompletableFuture<>();
        if (!running) {
            throw new ApiException(ErrorKind.UNAVAILABLE, "the control-api is shutting down; send the create again");
        }
        Job job = new Job(tenant, spec, sealed, f);
        queues.get(Math.floorMod(job.key().hashCode(), WORKERS)).add(job);
        Outcome o;
        try {
            o = f.get(ANSWER_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } catch (TimeoutException e) {
            throw new ApiException(ErrorKind.UNAVAILABLE, "creating pod " + spec.podUid() + " took longer than " + ANSWER_SECONDS
                    + " s; it may still be created: send the same create again, which returns the workload once it is");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException(ErrorKind.UNAVAILABLE, "interrupted while creating pod " + spec.podUid());
        }
        if (o instanceof Refusal r) {
            throw r.error();
        }
        if (o instanceof Unplaced u) {
            return Retry.onConflict(() -> db.tx(c -> {
                Placer.placeIfPending(c, u.id(), tenant, spec, u.model(), true);
                return new WorkloadStore.Created(WorkloadViews.byId(c, u.id()), true);
            }));
        }
        return ((Answer) o).created();
    }

    private void loop(LinkedBlockingQueue<Job> queue) {
        while (running) {
            List<Job> jobs = new ArrayList<>();
            try {
                jobs.add(queue.take());
            } catch (InterruptedException e) {
                break;
            }
            queue.drainTo(jobs, MAX_BATCH - 1);
            try {
                run(jobs);
            } catch (RuntimeException e) {
                if (jobs.size() == 1) {
                    jobs.get(0).done().completeExceptionally(e);
                    continue;
                }
                // One request's fault (a value the database refuses) must not fail its neighbours:
                // each runs again as a batch of one and gets its own answer.
                log.info("a batch of {} creates failed, each runs alone: {}", jobs.size(), e.getMessage());
                for (Job j : jobs) {
                    try {
                        run(List.of(j));
                    } catch (RuntimeException alone) {
                        j.done().completeExceptionally(alone);
                    }
                }
            }
        }
        for (Job j = queue.poll(); j != null; j = queue.poll()) {
            j.done().complete(new Refusal(new ApiException(ErrorKind.UNAVAILABLE, "the control-api is shutting down; send the create again")));
        }
    }

    private void run(List<Job> jobs) {
        Map<Job, Outcome> outcomes = new HashMap<>();
        Map<String, Long> perTenant = new HashMap<>();
        jobs.forEach(j -> perTenant.merge(j.tenant(), 1L, Long::sum));
        try {
            run(jobs, outcomes, quota.countAfter(perTenant));
        } catch (CreationQuota.Exceeded e) {
            run(jobs, outcomes, false);
        }
        jobs.forEach(j -> j.done().complete(outcomes.get(j)));
    }

    private void run(List<Job> jobs, Map<Job, Outcome> outcomes, boolean countAfter) {
        Retry.onConflict(() -> db.tx(c -> {
            outcomes.clear();
            batch(c, jobs, outcomes, countAfter);
            return null;
        }));
    }

    private void batch(Connection c, List<Job> jobs, Map<Job, Outcome> outcomes, boolean countAfter) throws SQLException {
        Map<String, Job> first = new LinkedHashMap<>();
        List<Job> repeats = new ArrayList<>();
        for (Job j : jobs) {
            if (first.putIfAbsent(j.key(), j) != null) {
                repeats.add(j);
            }
        }
        List<Job> fresh = new ArrayList<>(first.values());
        // Three round trips in all for a lone create, besides the host's lock and re-read: these
        // reads, then every write with the count after placing and the views, then the commit.
        Pipeline reads = new Pipeline();
        SETTINGS.forEach(x -> reads.add("SET LOCAL " + x));
        Map<String, String> existing = existing(reads, fresh);
        Map<String, Offer> offers = offers(reads, fresh);
        CreationQuota.Count before = countAfter ? null : quota.count(reads, fresh.stream().map(Job::tenant).toList());
        reads.run(c);
        List<Job> allowed = new ArrayList<>();
        for (Job j : fresh) {
            Offer o = offers.get(j.offerKey());
            ApiException overLimits = o == null ? null : limitsRefusal(j.spec(), o);
            String owner = existing.get(j.key());
            if (owner != null && !owner.equals(j.cluster())) {
                outcomes.put(j, new Refusal(new ApiException(ErrorKind.CONFLICT, "pod " + j.spec().podUid() + " is already a workload of tenant "
                        + j.tenant() + "'s cluster " + owner + ", not of cluster " + j.cluster(), "cluster")));
            } else if (owner != null) {
                outcomes.put(j, new Answer(new WorkloadStore.Created(WorkloadViews.byPodUid(c, j.tenant(), j.spec().podUid()), false)));
            } else if (o == null) {
                outcomes.put(j, new Refusal(new ApiException(ErrorKind.INVALID, "offering " + j.spec().offering()
                        + " is not available to tenant " + j.tenant(), "offering")));
            } else if (overLimits != null) {
                outcomes.put(j, new Refusal(overLimits));
            } else {
                allowed.add(j);
            }
        }
        List<Job> accepted = countAfter ? allowed
                : quota.within(before, allowed, Job::tenant, (j, refusal) -> outcomes.put(j, new Refusal(refusal)));
        Map<UUID, Job> byId = new LinkedHashMap<>();
        accepted.forEach(j -> byId.put(UUID.randomUUID(), j));
        if (!byId.isEmpty()) {
            List<Placer.Ask> asks = new ArrayList<>();
            Map<String, List<Placer.Ask>> byModel = new LinkedHashMap<>();
            byId.forEach((id, j) -> {
                String model = offers.get(j.offerKey()).model();
                Placer.Ask a = new Placer.Ask(id, j.tenant(), Placer.request(j.spec(), model), GpuAsks.of(j.spec()).containers());
                asks.add(a);
                byModel.computeIfAbsent(model, m -> new ArrayList<>()).add(a);
            });
            Map<UUID, Fit.Placed> placed = PlacementBatch.decide(c, byModel);
            Pipeline writes = new Pipeline();
            insert(writes, byId, placed);
            PlacementBatch.allocate(writes, asks, placed);
            List<String> tenants = accepted.stream().map(Job::tenant).distinct().toList();
            CreationQuota.Count after = countAfter ? quota.count(writes, tenants) : null;
            List<WorkloadView> read = new ArrayList<>();
            WorkloadViews.byIds(writes, new ArrayList<>(placed.keySet()), read);
            writes.run(c);
            if (countAfter) {
                quota.check(after, tenants);
            }
            Map<UUID, WorkloadView> views = new HashMap<>();
            read.forEach(v -> views.put(v.id(), v));
            byId.forEach((id, j) -> outcomes.put(j, placed.containsKey(id) ? new Answer(new WorkloadStore.Created(views.get(id), true))
                    : new Unplaced(id, offers.get(j.offerKey()).model())));
        }
        // The same pod twice in one batch: the second learns what the first got, as it would have
        // a moment later.
        for (Job r : repeats) {
            Outcome o = outcomes.get(first.get(r.key()));
            if (o instanceof Answer a) {
                o = new Answer(new WorkloadStore.Created(a.created().workload(), false));
            } else if (o instanceof Unplaced u) {
                o = new Answer(new WorkloadStore.Created(WorkloadViews.byId(c, u.id()), false));
            }
            outcomes.put(r, o);
        }
    }

    /** The seed's rule: the pod's totals may not exceed its RuntimeClass, and it needs at least one GPU. */
    private static ApiException limitsRefusal(WorkloadSpec spec, Offer o) {
        int gpus = spec.gpus();
        if (gpus >= 1 && gpus <= o.gpus() && spec.cpuMillis() <= o.cpuMillis() && spec.memoryBytes() <= o.memoryBytes()) {
            return null;
        }
        return new ApiException(ErrorKind.INVALID, "pod " + spec.namespace() + "/" + spec.name() + " asks for "
                + gpus + " GPU(s), " + Quantity.cpu(spec.cpuMillis()) + " cpu and " + Quantity.memory(spec.memoryBytes())
                + " memory; offering " + spec.offering() + " allows 1 to " + o.gpus() + " GPU(s), at most "
                + o.cpuMillis() + "m cpu and " + Quantity.memory(o.memoryBytes()) + " memory", "containers");
    }

    /**
     * The cluster of each job's pod that is already a workload, by the job's key. Each is looked
     * up by its key (the LIMIT keeps the lookup per job): joined as sets, a workloads table without
     * statistics was scanned whole.
     */
    private static Map<String, String> existing(Pipeline steps, List<Job> jobs) {
        Map<String, String> out = new HashMap<>();
        steps.add(EXISTING, b -> {
            b.array(1, "text", jobs.stream().map(Job::tenant).toList());
            b.array(2, "text", jobs.stream().map(j -> j.spec().podUid()).toList());
        }, rs -> {
            while (rs.next()) {
                out.put(rs.getString(1) + "\u0000" + rs.getString(2), rs.getString(3));
            }
        });
        return out;
    }

    /** The offerings each tenant may use, among those asked for; filled when the steps run. */
    private static Map<String, Offer> offers(Pipeline steps, List<Job> jobs) {
        Map<String, Offer> out = new HashMap<>();
        steps.add(OFFERS, b -> {
            b.array(1, "text", jobs.stream().map(Job::tenant).toList());
            b.array(2, "text", jobs.stream().map(j -> j.spec().offering()).toList());
        }, rs -> {
            while (rs.next()) {
                out.put(rs.getString(1) + "\u0000" + rs.getString(2), new Offer(rs.getString(3), rs.getInt(4), rs.getLong(5),
                        rs.getLong(6)));
            }
        });
        return out;
    }

    /** The new workloads, each already on its host when the batch placed it, else pending. */
    private static void insert(Pipeline steps, Map<UUID, Job> byId, Map<UUID, Fit.Placed> placed) {
        List<Object> ids = new ArrayList<>();
        List<Object> hosts = new ArrayList<>();
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
                Fit.Placed p = placed.get(e.getKey());
                hosts.add(p == null ? null : p.hostId());
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
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        steps.add(INSERT, b -> {
            b.array(1, "uuid", ids);
            b.array(2, "text", tenants);
            b.array(3, "text", pods);
            b.array(4, "text", namespaces);
            b.array(5, "text", names);
            b.array(6, "text", offerings);
            b.array(7, "text", specs);
            b.array(8, "int4", gpus);
            b.array(9, "int8", cpus);
            b.array(10, "int8", memories);
            b.array(11, "text", sealed);
            b.array(12, "uuid", hosts);
        }, null);
    }

    @Override
    public void close() {
        running = false;
        workers.forEach(Thread::interrupt);
    }
}
