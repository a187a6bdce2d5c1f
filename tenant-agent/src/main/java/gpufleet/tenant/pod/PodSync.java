package gpufleet.tenant.pod;

import gpufleet.common.api.OfferingView;
import gpufleet.common.api.WorkloadView;
import gpufleet.common.http.JsonClient;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ListOptionsBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.Informable;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pod sync as virtual-kubelet's pod controller runs it: an informer on this node's pods only
 * (field selector spec.nodeName), each change queued by pod key (namespace/name) for a few
 * workers, a key that fails retried with a growing back-off, and a periodic resync that asks the
 * provider for every workload once (an unchanged list is answered 304 and not parsed), deletes those whose pod is gone and queues each pod whose
 * workload changed at the provider since its last sync (or that has none yet), so that status
 * changes reach the cluster; a pod and workload both as last synced cost nothing, which keeps the
 * agent idle on a node of hundreds of settled pods. While some pod is on its way the resync runs
 * every {@code fast} instead. Informers on ConfigMaps and Secrets queue the pods whose volumes
 * they fill, so that those files follow their objects as on a kubelet ({@link FollowedVolumes}).
 */
public final class PodSync implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PodSync.class);
    static final int WORKERS = 16;

    private record Session(PodProvider provider, Map<String, OfferingView> classes) {}

    /** What a pod's last successful sync was given: its object's version and its workload. */
    private record Synced(String resourceVersion, WorkloadView workload) {}

    /** A workload this agent created, and when the create was answered (System.nanoTime). */
    private record Created(WorkloadView workload, long at) {}

    private final KubernetesClient k8s;
    private final PodController controller;
    private final Duration resync;
    private final Duration fast;
    private final SharedIndexInformer<Pod> informer;
    private final List<SharedIndexInformer<?>> sources = new ArrayList<>();
    private final PodQueue queue = new PodQueue(Duration.ofMillis(250), Duration.ofSeconds(60));
    private final Semaphore resyncNow = new Semaphore(0);
    private final Set<String> moving = ConcurrentHashMap.newKeySet();
    /** The UID each key's pod had when last seen: a deleted pod's workload is found by it. */
    private final Map<String, String> uids = new ConcurrentHashMap<>();
    private final Map<String, Synced> synced = new ConcurrentHashMap<>();
    /** Pod syncs done and resync rounds run (tests count them). */
    private final AtomicLong syncs = new AtomicLong();
    private final AtomicLong resyncs = new AtomicLong();
    /**
     * Pods the API server no longer has while the informer still holds them: a watch that missed
     * their deletion (a stand-in API server's watch does not replay what happened before it
     * opened; the soak found it). Taken as deleted, or their workloads would live on.
     */
    private final Set<String> vanished = ConcurrentHashMap.newKeySet();
    private final List<Thread> threads = new ArrayList<>();
    private volatile Session session;
    /** The provider's workloads by pod UID, as of the last resync. */
    private volatile Map<String, WorkloadView> known = Map.of();
    /** The list {@link #known} was made from: while the provider answers it unchanged, nothing is rebuilt. */
    private List<WorkloadView> listed;
    /**
     * Workloads created since the last list that shows them, by pod UID: the pod's status write
     * after its create brings it back at once, and without this it would be sent again.
     */
    private final Map<String, Created> created = new ConcurrentHashMap<>();
    private volatile boolean running = true;

    public PodSync(KubernetesClient k8s, PodController controller, Duration resync, Duration fast) {
        this.k8s = k8s;
        this.controller = controller;
        this.resync = resync;
        this.fast = fast;
        String node = controller.nodeName();
        Informable<Pod> pods = k8s.pods().inAnyNamespace();
        if (fieldSelectorsChecked(k8s)) {
            pods = k8s.pods().inAnyNamespace().withField("spec.nodeName", node);
        } else {
            log.warn("the API server does not check field selectors (a test server?): watching every pod, keeping {}'s", node);
        }
        this.informer = pods.inform(new ResourceEventHandler<>() {
            @Override
            public void onAdd(Pod pod) {
                changed(pod);
            }

            @Override
            public void onUpdate(Pod before, Pod pod) {
                if (!Objects.equals(before.getMetadata().getLabels(), pod.getMetadata().getLabels())
                        || !Objects.equals(before.getMetadata().getAnnotations(), pod.getMetadata().getAnnotations())) {
                    controller.followed().stale(pod.getMetadata().getUid()); // its downward API files may show them
                }
                changed(pod);
            }

            @Override
            public void onDelete(Pod pod, boolean unknownFinalState) {
                changed(pod);
            }
        });
        sources.add(k8s.configMaps().inAnyNamespace().inform(new SourceHandler<>(false)));
        sources.add(k8s.secrets().inAnyNamespace().inform(new SourceHandler<>(true)));
        threads.add(new Thread(this::resyncLoop, "pod-resync"));
        for (int i = 0; i < WORKERS; i++) {
            threads.add(new Thread(this::work, "pod-worker-" + i));
        }
        threads.forEach(t -> {
            t.setDaemon(true);
            t.start();
        });
    }

    /**
     * Whether the API server understands pod field selectors. A real one refuses a field it does
     * not know (400, "field label not supported"); a stand-in that answers such a list instead
     * would also ignore spec.nodeName (fabric8's mock answers nothing at all for it).
     */
    static boolean fieldSelectorsChecked(KubernetesClient k8s) {
        try {
            k8s.pods().inAnyNamespace().withField("spec.gpufleetProbe", "x").list(new ListOptionsBuilder().withLimit(1L).build());
            return false;
        } catch (KubernetesClientException e) {
            return e.getCode() == 400;
        }
    }

    /** The provider to sync with, and the RuntimeClasses it offers; pods wait until the first call. */
    public void provider(PodProvider provider, List<OfferingView> offerings) {
        boolean first = session == null;
        session = new Session(provider, PodController.classes(offerings));
        if (first) {
            resyncNow.release();
        }
    }

    private boolean ours(Pod pod) {
        return pod.getSpec() != null && controller.nodeName().equals(pod.getSpec().getNodeName())
                && !vanished.contains(pod.getMetadata().getUid());
    }

    private void changed(Pod pod) {
        if (ours(pod)) {
            String key = pod.getMetadata().getNamespace() + "/" + pod.getMetadata().getName();
            String uid = pod.getMetadata().getUid();
            uids.put(key, uid);
            queue.add(key, !known.containsKey(uid) && !created.containsKey(uid));
        }
    }

    /** A ConfigMap ({@code secret} false) or Secret changed: the pods of its namespace whose volumes it fills are queued. */
    private final class SourceHandler<T extends HasMetadata> implements ResourceEventHandler<T> {
        private final boolean secret;

        SourceHandler(boolean secret) {
            this.secret = secret;
        }

        private void touched(T object) {
            String ns = object.getMetadata().getNamespace();
            String name = object.getMetadata().getName();
            for (Pod pod : cached()) {
                if (ns.equals(pod.getMetadata().getNamespace()) && FollowedVolumes.references(pod, secret, name)) {
                    controller.followed().stale(pod.getMetadata().getUid());
                    changed(pod);
                }
            }
        }

        @Override
        public void onAdd(T object) {
            touched(object);
        }

        @Override
        public void onUpdate(T before, T object) {
            touched(object);
        }

        @Override
        public void onDelete(T object, boolean unknownFinalState) {
            touched(object);
        }
    }

    private List<Pod> cached() {
        return informer.getStore().list().stream().filter(this::ours).toList();
    }

    /**
     * This node's pods as the informer holds them, null until it has listed once: the node's
     * figures and the Services read them here instead of listing the cluster's pods every round.
     */
    public List<Pod> nodePods() {
        return informer.hasSynced() ? cached() : null;
    }

    /** Whether the pod and its workload are both as its last successful sync saw them. */
    private boolean unchanged(String key, Pod pod, Map<String, WorkloadView> workloads) {
        WorkloadView w = workloads.get(pod.getMetadata().getUid());
        Synced last = synced.get(key);
        return w != null && last != null && w.equals(last.workload())
                && Objects.equals(pod.getMetadata().getResourceVersion(), last.resourceVersion());
    }

    private void resyncLoop() {
        while (running) {
            try {
                if (resyncNow.tryAcquire((moving.isEmpty() ? resync : fast).toMillis(), TimeUnit.MILLISECONDS)) {
                    resyncNow.drainPermits();
                }
            } catch (InterruptedException e) {
                return;
            }
            Session s = session;
            if (s == null) {
                continue;
            }
            try {
                long asked = System.nanoTime();
                List<WorkloadView> list = s.provider().list();
                if (list != listed) {
                    Map<String, WorkloadView> fresh = new HashMap<>();
                    list.forEach(w -> fresh.put(w.podUid(), w));
                    known = fresh;
                    listed = list;
                }
                Map<String, WorkloadView> workloads = known;
                // A create answered before this list was asked for is in it (or deleted since).
                created.values().removeIf(c -> c.at() - asked < 0);
                // Before the informer has listed once, an empty cache does not mean the pods are gone.
                if (informer.hasSynced()) {
                    List<Pod> pods = cached();
                    controller.collect(s.provider(), workloads.values(), pods);
                    for (Pod pod : pods) {
                        String key = pod.getMetadata().getNamespace() + "/" + pod.getMetadata().getName();
                        // A failing key comes back after its own back-off.
                        if (queue.failures(key) == 0 && !unchanged(key, pod, workloads)) {
                            queue.add(key);
                        }
                    }
                }
            } catch (Exception e) {
                log.warn("pod resync skipped: {}", e.getMessage());
            }
            resyncs.incrementAndGet();
        }
    }

    private void work() {
        while (running) {
            String key;
            try {
                key = queue.take();
            } catch (InterruptedException e) {
                return;
            }
            if (key == null) {
                return;
            }
            try {
                sync(key);
                queue.forget(key);
            } catch (Exception e) {
                Duration wait = queue.retry(key);
                log.warn("pod {}: {} (again in {} ms)", key, JsonClient.reason(e), wait.toMillis());
            } finally {
                queue.done(key);
            }
        }
    }

    private void sync(String key) throws Exception {
        Session s = session;
        if (s == null) {
            queue.addAfter(key, fast);
            return;
        }
        Pod pod = informer.getStore().getByKey(key);
        synced.remove(key);
        if (pod == null || !ours(pod)) {
            moving.remove(key);
            // The pod is gone: its workload goes too (the resync would find it, this is sooner).
            String uid = uids.get(key);
            if (uid != null) {
                log.info("pod {} is gone: deleting its workload", key);
                s.provider().delete(uid);
                uids.remove(key, uid);
                created.remove(uid);
                controller.followed().forget(uid);
            }
            return;
        }
        moving.remove(key); // while it fails, its retries bring it back, not a faster resync
        String uid = pod.getMetadata().getUid();
        WorkloadView w = known.get(uid);
        if (w == null && created.get(uid) != null) {
            w = created.get(uid).workload();
        }
        syncs.incrementAndGet();
        try {
            PodController.Outcome o = controller.syncPod(s.provider(), s.classes(), pod, w);
            if (o.moving()) {
                moving.add(key);
            }
            if (w == null && o.workload() != null) {
                created.put(uid, new Created(o.workload(), System.nanoTime()));
            }
            synced.put(key, new Synced(pod.getMetadata().getResourceVersion(), o.workload()));
        } catch (KubernetesClientException e) {
            if (e.getCode() != 404 || !vanished(pod)) {
                throw e;
            }
            log.info("pod {} is gone from the API server though its watch never said so: taken as deleted", key);
            sync(key);
        }
    }

    /** True when the API server has no pod of this one's UID any more (a 404 may be another object's: a volume's source). */
    private boolean vanished(Pod pod) {
        Pod now = k8s.pods().inNamespace(pod.getMetadata().getNamespace()).withName(pod.getMetadata().getName()).get();
        if (now != null && pod.getMetadata().getUid().equals(now.getMetadata().getUid())) {
            return false;
        }
        vanished.add(pod.getMetadata().getUid());
        return true;
    }

    long syncs() {
        return syncs.get();
    }

    long resyncs() {
        return resyncs.get();
    }

    /** Keys waiting for a worker (tests watch it drain). */
    int queued() {
        return queue.size();
    }

    @Override
    public void close() {
        running = false;
        queue.close();
        threads.forEach(Thread::interrupt);
        informer.close();
        sources.forEach(SharedIndexInformer::close);
    }
}
