package gpufleet.common.api;

import gpufleet.common.Invalid;

/**
 * A host evicting one of its own workloads (a pod past its ephemeral-storage limit): the pod fails
 * with reason Evicted and {@code message}, in the kubelet's words, and the workload is deleted.
 */
public record WorkloadEviction(String message) {
    public WorkloadEviction {
        Invalid.requiredText(message, "message", 1024);
        Invalid.check(message.chars().noneMatch(Character::isISOControl), "message", "message must be one line of text");
    }
}
