package gpufleet.common.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * One workload a host must run (or stop, when {@code stop} is true), with the GPU UUIDs pinned to
 * each container. The host reconciles its containers against the full list. {@code publish}: the
 * pod's ports that routes (LoadBalancer Services) need reachable from the edge; the host publishes
 * each on its publish address and reports where (see {@link WorkloadStatusReport#ports()}).
 * {@code podEphemeralStorageBytes}: the offering's bound on what the pod may write to the host's
 * disk, absent when the offering sets none (then only the host's own bound applies).
 * {@code podShmSizeBytes}: the offering's /dev/shm for a pod that mounts no memory emptyDir there,
 * absent when the offering sets none (the engine's default).
 */
public record HostWorkload(UUID id, String tenant, String podUid, String namespace, String name, WorkloadSpec spec,
                           Map<String, List<String>> gpus, boolean stop, List<Integer> publish,
                           @JsonInclude(JsonInclude.Include.NON_NULL)
                           Long podEphemeralStorageBytes,
                           @JsonInclude(JsonInclude.Include.NON_NULL)
                           Long podShmSizeBytes) {
    public HostWorkload {
        publish = publish == null ? List.of() : List.copyOf(publish);
    }

    public HostWorkload(UUID id, String tenant, String podUid, String namespace, String name, WorkloadSpec spec,
                        Map<String, List<String>> gpus, boolean stop, List<Integer> publish) {
        this(id, tenant, podUid, namespace, name, spec, gpus, stop, publish, null, null);
    }

    public HostWorkload(UUID id, String tenant, String podUid, String namespace, String name, WorkloadSpec spec,
                        Map<String, List<String>> gpus, boolean stop, List<Integer> publish, Long podEphemeralStorageBytes) {
        this(id, tenant, podUid, namespace, name, spec, gpus, stop, publish, podEphemeralStorageBytes, null);
    }
}
