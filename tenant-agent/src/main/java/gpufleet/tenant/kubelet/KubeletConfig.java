package gpufleet.tenant.kubelet;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * How the kubelet API is served, from GPUFLEET_KUBELET_* variables (the port is the node's,
 * GPUFLEET_KUBELET_PORT, in the agent's configuration):
 * <ul>
 * <li>GPUFLEET_KUBELET_TLS: {@code csr} (default: a certificate from the cluster's kubelet-serving
 * signer), {@code self-signed} (only for API servers that do not verify kubelets), or {@code off}.</li>
 * <li>GPUFLEET_KUBELET_CLIENT_CA_FILE: the CAs whose client certificates name a caller; default
 * the cluster CA the agent's own Kubernetes client trusts.</li>
 * <li>GPUFLEET_KUBELET_BIND_ADDRESS: the address to listen on, default 0.0.0.0.</li>
 * <li>GPUFLEET_KUBELET_CSR_SELF_APPROVE: {@code true} lets the agent approve its own certificate
 * request (its RBAC must allow it: the self-approve overlay); default {@code false}, the cluster's
 * approver or an administrator approves it, as for a real kubelet's.</li>
 * </ul>
 */
public record KubeletConfig(Tls tls, Path clientCaFile, String bindAddress, Duration csrPoll, boolean selfApprove) {

    public enum Tls { CSR, SELF_SIGNED, OFF }

    public static KubeletConfig fromEnvironment(Map<String, String> env) {
        List<String> problems = new ArrayList<>();
        String mode = env.getOrDefault("GPUFLEET_KUBELET_TLS", "csr").trim();
        Tls tls = switch (mode) {
            case "csr", "" -> Tls.CSR;
            case "self-signed" -> Tls.SELF_SIGNED;
            case "off" -> Tls.OFF;
            default -> {
                problems.add("GPUFLEET_KUBELET_TLS: '" + mode + "' is not one of csr, self-signed, off");
                yield Tls.CSR;
            }
        };
        Path ca = null;
        String caFile = env.get("GPUFLEET_KUBELET_CLIENT_CA_FILE");
        if (caFile != null && !caFile.isBlank()) {
            ca = Path.of(caFile.trim());
            if (!Files.isReadable(ca)) {
                problems.add("GPUFLEET_KUBELET_CLIENT_CA_FILE: '" + caFile + "' cannot be read");
            }
        }
        String bind = env.getOrDefault("GPUFLEET_KUBELET_BIND_ADDRESS", "0.0.0.0").trim();
        if (bind.isEmpty()) {
            problems.add("GPUFLEET_KUBELET_BIND_ADDRESS: is empty (an IP address such as 0.0.0.0)");
        }
        String self = env.getOrDefault("GPUFLEET_KUBELET_CSR_SELF_APPROVE", "false").trim();
        if (!self.equals("true") && !self.equals("false") && !self.isEmpty()) {
            problems.add("GPUFLEET_KUBELET_CSR_SELF_APPROVE: '" + self + "' is not true or false");
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("invalid kubelet API configuration:\n  - " + String.join("\n  - ", problems));
        }
        return new KubeletConfig(tls, ca, bind, Duration.ofSeconds(5), self.equals("true"));
    }
}
