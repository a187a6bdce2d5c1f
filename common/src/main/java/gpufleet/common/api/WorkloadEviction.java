package gpufleet.common.api;

import gpufleet.common.Invalid;
import java.util.Set;

/**
 * A host ending one of its own workloads as the kubelet would: {@code reason} Evicted (a pod past
 * its ephemeral-storage limit; the default) or DeadlineExceeded (past its activeDeadlineSeconds).
 * The pod fails with that reason and {@code message}, in the kubelet's words, and the workload is
 * deleted.
 */
public record WorkloadEviction(String message, String reason) {
    public static final Set<String> REASONS = Set.of("Evicted", "DeadlineExceeded");

    public WorkloadEviction {
        Invalid.requiredText(message, "message", 1024);
        Invalid.check(message.chars().noneMatch(Character::isISOControl), "message", "message must be one line of text");
        reason = reason == null ? "Evicted" : reason;
        Invalid.check(REASONS.contains(reason), "reason", "reason must be Evicted or DeadlineExceeded, got '" + reason + "'");
    }

    /** An eviction for the disk, as before DeadlineExceeded came. */
    public WorkloadEviction(String message) {
        this(message, null);
    }
}
