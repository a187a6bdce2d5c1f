package gpufleet.common.api;

import gpufleet.common.Invalid;

/**
 * Something the host-agent says about its host, Kubernetes-style: type (e.g. NvmlReady,
 * DockerReady), status "True"/"False"/"Unknown", a CamelCase reason and a human message.
 */
public record HostCondition(String type, String status, String reason, String message) {
    public HostCondition {
        Invalid.requiredText(type, "type", 63);
        Invalid.required(status, "status");
        Invalid.check(status.equals("True") || status.equals("False") || status.equals("Unknown"), "status",
                "status must be True, False or Unknown, got '" + status + "'");
        Invalid.check(reason == null || reason.length() <= 128, "reason", "reason is longer than 128 characters");
        Invalid.check(message == null || message.length() <= 1024, "message", "message is longer than 1024 characters");
    }
}
