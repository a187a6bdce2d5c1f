package gpufleet.common.stream;

import java.util.List;

/**
 * What the control-api asks of a host-agent's stream server, sent as one JSON line before any
 * frame. {@code ticket} proves the control-api sent it (see {@link Tickets}); the pod's
 * namespace and name are there for messages only. Log fields follow the kubelet's parameters.
 */
public record StreamRequest(String op, String workload, String ticket, String namespace, String pod,
                            String container, List<String> command, boolean stdin, boolean stdout, boolean stderr,
                            boolean tty, boolean follow, Long tailLines, Long sinceSeconds, String sinceTime,
                            boolean timestamps, boolean previous, Long limitBytes, Integer port, List<String> workloads) {

    public static final String LOGS = "logs";
    public static final String EXEC = "exec";
    public static final String ATTACH = "attach";
    public static final String PORT_FORWARD = "portforward";
    public static final String STATS = "stats";

    /** The answer line: status 200 means frames follow; otherwise the message says why not. */
    public record Reply(int status, String message) {
        public static final Reply OK = new Reply(200, null);
    }
}
