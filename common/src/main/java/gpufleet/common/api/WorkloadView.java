package gpufleet.common.api;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * A workload as its tenant sees it. {@code phase}: pending (not placed; {@code reason} and
 * {@code message} say why), placed, running, succeeded, failed, deleted. {@code gpus} maps each
 * container to the UUIDs pinned to it. {@code initContainers}: the init containers' statuses, in
 * the pod's order (empty when it has none).
 */
public record WorkloadView(UUID id, String podUid, String namespace, String name, String offering, String phase,
                           String reason, String message, UUID hostId, Map<String, List<String>> gpus,
                           List<ContainerStatus> containers, boolean deletionRequested, Instant createdAt,
                           List<ContainerStatus> initContainers) {
    public WorkloadView {
        initContainers = initContainers == null ? List.of() : List.copyOf(initContainers);
    }

    /** A pod without init containers. */
    public WorkloadView(UUID id, String podUid, String namespace, String name, String offering, String phase, String reason,
                        String message, UUID hostId, Map<String, List<String>> gpus, List<ContainerStatus> containers,
                        boolean deletionRequested, Instant createdAt) {
        this(id, podUid, namespace, name, offering, phase, reason, message, hostId, gpus, containers, deletionRequested, createdAt,
                null);
    }
}
