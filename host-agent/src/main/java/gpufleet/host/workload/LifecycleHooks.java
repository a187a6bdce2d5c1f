package gpufleet.host.workload;

import gpufleet.common.api.HostWorkload;
import gpufleet.common.api.Probe;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.host.runtime.ContainerRuntime;
import gpufleet.host.runtime.ExecResult;
import gpufleet.host.runtime.RuntimeFailure;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * A container's postStart and preStop handlers, run as the kubelet runs them: exec in the
 * container, an HTTP(S) GET of the pod's own address (certificates not verified, as the kubelet's),
 * or a sleep. tcpSocket is kept in Kubernetes' API for old objects only and the kubelet fails it
 * as an invalid handler; so does this. Failures are worded as the kubelet's events.
 */
final class LifecycleHooks {
    /**
     * The kubelet waits for a postStart as long as it takes; here it holds the pod's worker (a
     * deletion waits behind it), so it is bounded, and one still running then counts as failed.
     */
    static final Duration POST_START_LIMIT = Duration.ofMinutes(2);

    private final ContainerRuntime runtime;
    private final HttpClient http = HttpClient.newBuilder().sslContext(trustAll()).followRedirects(HttpClient.Redirect.NEVER)
            .connectTimeout(Duration.ofSeconds(5)).build();

    LifecycleHooks(ContainerRuntime runtime) {
        this.runtime = runtime;
    }

    /**
     * Runs the container's postStart, if it has one, before it counts as running; the kubelet's
     * words for its failure (cut to an event's length), or null.
     */
    String postStart(HostWorkload w, WorkloadSpec.Container c, String id, Supplier<String> podIp) {
        if (c.lifecycle() == null || c.lifecycle().postStart() == null) {
            return null;
        }
        try {
            String failure = run(c.lifecycle().postStart(), w, c, id, podIp, POST_START_LIMIT);
            return failure == null || failure.length() <= 1024 ? failure : failure.substring(0, 1024);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "the host agent stopped while the postStart hook ran";
        }
    }

    /**
     * Runs {@code h} for container {@code c} (its engine id {@code id}) of pod {@code w}, waiting
     * at most {@code limit}; {@code podIp}: the sandbox's address on the tenant network. Returns
     * null when the handler succeeded, else the kubelet's words for its failure.
     */
    String run(Probe.Handler h, HostWorkload w, WorkloadSpec.Container c, String id, Supplier<String> podIp, Duration limit)
            throws InterruptedException {
        String pod = "\"" + w.name() + "_" + w.namespace() + "(" + w.podUid() + ")\"";
        if (h.exec() != null) {
            String command = String.join(" ", h.exec());
            String error;
            String output = "";
            try {
                ExecResult r = runtime.exec(id, h.exec(), limit);
                output = r.output();
                if (!r.timedOut() && r.exitCode() == 0) {
                    return null;
                }
                error = r.timedOut() ? "command '" + command + "' timed out after " + limit.toSeconds() + "s"
                        : "command '" + command + "' exited with " + r.exitCode() + ": " + output;
            } catch (RuntimeFailure f) {
                error = f.getMessage();
            }
            return "Exec lifecycle hook (" + h.exec() + ") for Container \"" + c.name() + "\" in Pod " + pod + " failed - error: "
                    + error + ", message: \"" + output.strip() + "\"";
        }
        if (h.sleepSeconds() != null) {
            Thread.sleep(Math.min(h.sleepSeconds() * 1000L, limit.toMillis()));
            return null;
        }
        if (h.httpGet() != null) {
            String error = get(h.httpGet(), podIp.get(), limit);
            return error == null ? null : "HTTP lifecycle hook (" + h.httpGet().path() + ") for Container \"" + c.name()
                    + "\" in Pod " + pod + " failed - error: " + error;
        }
        return "invalid handler: tcpSocket is not supported as a lifecycle handler (Container \"" + c.name() + "\" in Pod " + pod + ")";
    }

    /** Null when the pod answered 200..399, as the kubelet counts an HTTP hook's success. */
    private String get(Probe.HttpGet g, String ip, Duration limit) throws InterruptedException {
        if (ip == null) {
            return "the pod has no address on its network";
        }
        URI uri = URI.create(g.scheme().toLowerCase() + "://" + (ip.contains(":") ? "[" + ip + "]" : ip) + ":" + g.port() + g.path());
        HttpRequest.Builder req = HttpRequest.newBuilder(uri).timeout(limit.isZero() ? Duration.ofSeconds(1) : limit).GET();
        for (Probe.Header hd : g.headers()) {
            req.header(hd.name(), hd.value());
        }
        try {
            int status = http.send(req.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
            return status >= 200 && status < 400 ? null : "Get \"" + uri + "\": HTTP status " + status;
        } catch (IOException | IllegalArgumentException e) {
            return "Get \"" + uri + "\": " + e.getMessage();
        }
    }

    private static SSLContext trustAll() {
        try {
            SSLContext ssl = SSLContext.getInstance("TLS");
            ssl.init(null, new TrustManager[] {new X509TrustManager() {
                @Override
                public void checkClientTrusted(X509Certificate[] chain, String authType) {
                    // The kubelet does not verify a hook's HTTPS either: the pod's own address has no name to check.
                }

                @Override
                public void checkServerTrusted(X509Certificate[] chain, String authType) {
                    // As above.
                }

                @Override
                public X509Certificate[] getAcceptedIssuers() {
                    return new X509Certificate[0];
                }
            }}, new SecureRandom());
            return ssl;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
