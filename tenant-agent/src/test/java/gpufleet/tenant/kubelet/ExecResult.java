package gpufleet.tenant.kubelet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * What an exec or attach returned: stdout, stderr, the raw error-stream document, and the exit
 * code read from it as kubectl reads it (0 for Success, the ExitCode cause for NonZeroExitCode,
 * null when the command failed without one).
 */
public record ExecResult(String stdout, String stderr, String status, Integer exitCode) {

    static ExecResult of(String stdout, String stderr, String status) {
        return new ExecResult(stdout, stderr, status, exitCode(status));
    }

    private static Integer exitCode(String status) {
        if (status == null || status.isEmpty()) {
            return null;
        }
        try {
            JsonNode s = new ObjectMapper().readTree(status);
            if ("Success".equals(s.path("status").asText())) {
                return 0;
            }
            if ("NonZeroExitCode".equals(s.path("reason").asText())) {
                for (JsonNode cause : s.path("details").path("causes")) {
                    if ("ExitCode".equals(cause.path("reason").asText())) {
                        return Integer.parseInt(cause.path("message").asText());
                    }
                }
            }
            return null;
        } catch (Exception e) {
            return null;
        }
    }
}
