package gpufleet.common.api;

import gpufleet.common.Invalid;
import java.util.List;

/**
 * A container probe with the kubelet's timing fields and defaults. {@code handler}: what is
 * checked. httpGet, tcpSocket and grpc reach the pod's own address only (a probe has no
 * {@code host}: the agent never connects where a tenant points it). Named ports are resolved
 * by the tenant-agent, so ports here are numbers.
 */
public record Probe(Handler handler, Integer initialDelaySeconds, Integer periodSeconds, Integer timeoutSeconds,
                    Integer successThreshold, Integer failureThreshold, Long terminationGracePeriodSeconds) {
    public Probe {
        Invalid.required(handler, "handler");
        initialDelaySeconds = orDefault(initialDelaySeconds, 0, 0, "initialDelaySeconds");
        periodSeconds = orDefault(periodSeconds, 10, 1, "periodSeconds");
        timeoutSeconds = orDefault(timeoutSeconds, 1, 1, "timeoutSeconds");
        successThreshold = orDefault(successThreshold, 1, 1, "successThreshold");
        failureThreshold = orDefault(failureThreshold, 3, 1, "failureThreshold");
        Invalid.check(terminationGracePeriodSeconds == null || terminationGracePeriodSeconds >= 1
                && terminationGracePeriodSeconds <= 3600, "terminationGracePeriodSeconds",
                "terminationGracePeriodSeconds must be 1..3600");
    }

    private static int orDefault(Integer value, int fallback, int min, String field) {
        int v = value == null ? fallback : value;
        Invalid.check(v >= min && v <= 86_400, field, field + " must be " + min + "..86400, got " + v);
        return v;
    }

    /**
     * One action, exactly one of its parts set (as Kubernetes' ProbeHandler and LifecycleHandler):
     * a command in the container, an HTTP GET or a TCP connect to the pod, a gRPC health check, or
     * (lifecycle only) a sleep.
     */
    public record Handler(List<String> exec, HttpGet httpGet, Integer tcpSocket, Grpc grpc, Integer sleepSeconds) {
        public Handler {
            int set = (exec != null ? 1 : 0) + (httpGet != null ? 1 : 0) + (tcpSocket != null ? 1 : 0) + (grpc != null ? 1 : 0)
                    + (sleepSeconds != null ? 1 : 0);
            Invalid.check(set == 1, "handler", "a handler sets exactly one of exec, httpGet, tcpSocket, grpc and sleep, got " + set);
            if (exec != null) {
                exec = List.copyOf(exec);
                Invalid.check(!exec.isEmpty(), "exec.command", "exec.command must not be empty");
            }
            Invalid.check(tcpSocket == null || tcpSocket >= 1 && tcpSocket <= 65535, "tcpSocket.port", "tcpSocket.port must be 1..65535");
            Invalid.check(sleepSeconds == null || sleepSeconds >= 0 && sleepSeconds <= 3600, "sleep.seconds",
                    "sleep.seconds must be 0..3600");
        }
    }

    /** An HTTP(S) GET of {@code path} on the pod's address; HTTPS is not verified, as the kubelet's. */
    public record HttpGet(String path, Integer port, String scheme, List<Header> headers) {
        public HttpGet {
            path = path == null || path.isEmpty() ? "/" : path;
            Invalid.check(path.startsWith("/") && path.length() <= 2048 && path.chars().allMatch(ch -> ch > 32 && ch < 127),
                    "httpGet.path", "httpGet.path must start with '/' and hold printable characters without spaces");
            Invalid.required(port, "httpGet.port");
            Invalid.check(port >= 1 && port <= 65535, "httpGet.port", "httpGet.port must be 1..65535");
            scheme = scheme == null ? "HTTP" : scheme;
            Invalid.check(scheme.equals("HTTP") || scheme.equals("HTTPS"), "httpGet.scheme", "httpGet.scheme must be HTTP or HTTPS");
            headers = headers == null ? List.of() : List.copyOf(headers);
            Invalid.check(headers.size() <= 32, "httpGet.httpHeaders", "at most 32 httpHeaders");
        }
    }

    public record Header(String name, String value) {
        public Header {
            Invalid.requiredText(name, "httpHeaders.name", 256);
            Invalid.check(name.chars().allMatch(ch -> ch > 32 && ch < 127 && ch != ':'), "httpHeaders.name",
                    "an httpHeaders name is a token (printable, no spaces or ':')");
            value = value == null ? "" : value;
            Invalid.check(value.length() <= 4096 && value.chars().noneMatch(ch -> ch == '\r' || ch == '\n' || ch == 0),
                    "httpHeaders.value", "an httpHeaders value has no line breaks and at most 4096 characters");
        }
    }

    public record Grpc(Integer port, String service) {
        public Grpc {
            Invalid.required(port, "grpc.port");
            Invalid.check(port >= 1 && port <= 65535, "grpc.port", "grpc.port must be 1..65535");
            Invalid.check(service == null || service.length() <= 1024, "grpc.service", "grpc.service is at most 1024 characters");
        }
    }

    /** postStart runs after the container starts (it is not running until it ends); preStop runs before SIGTERM. */
    public record Lifecycle(Handler postStart, Handler preStop) {
        public Lifecycle {
            Invalid.check(postStart == null || postStart.grpc() == null, "lifecycle.postStart", "a lifecycle handler has no grpc");
            Invalid.check(preStop == null || preStop.grpc() == null, "lifecycle.preStop", "a lifecycle handler has no grpc");
        }
    }
}
