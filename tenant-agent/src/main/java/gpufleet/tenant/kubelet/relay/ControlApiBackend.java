package gpufleet.tenant.kubelet.relay;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.common.Json;
import gpufleet.common.stream.PodUsage;
import gpufleet.tenant.kubelet.KubeletBackend;
import gpufleet.tenant.kubelet.KubeletException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The kubelet's requests relayed to the provider's control-api with the tenant's token: logs
 * as a streamed HTTP response, exec/attach/port-forward over a WebSocket ({@link WsStream}),
 * usage as JSON. The control-api relays on to the host-agent that runs the pod.
 */
public final class ControlApiBackend implements KubeletBackend {
    private final URI base;
    private final String token;
    private final String tenant;
    private final HttpClient http;

    public ControlApiBackend(URI base, String token, String tenant) {
        this.base = base;
        this.token = token;
        this.tenant = tenant;
        ExecutorService threads = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "relay");
            t.setDaemon(true);
            return t;
        });
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).executor(threads).build();
    }

    @Override
    public void logs(PodRef pod, String container, LogOptions o, OutputStream out) throws IOException {
        StringJoiner q = new StringJoiner("&");
        q.add("container=" + enc(container));
        if (o.follow()) {
            q.add("follow=true");
        }
        if (o.previous()) {
            q.add("previous=true");
        }
        if (o.timestamps()) {
            q.add("timestamps=true");
        }
        add(q, "tailLines", o.tailLines());
        add(q, "sinceSeconds", o.sinceSeconds());
        add(q, "limitBytes", o.limitBytes());
        if (o.sinceTime() != null) {
            q.add("sinceTime=" + enc(o.sinceTime()));
        }
        HttpResponse<InputStream> r = send(HttpRequest.newBuilder(uri(pod, "logs?" + q)).GET(), HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream in = r.body()) {
            if (r.statusCode() != 200) {
                throw refusal(r.statusCode(), in.readAllBytes());
            }
            byte[] buf = new byte[32 * 1024];
            for (int n = in.read(buf); n >= 0; n = in.read(buf)) {
                out.write(buf, 0, n);
                out.flush();
            }
        }
    }

    @Override
    public StreamSession exec(PodRef pod, String container, List<String> command, StreamOptions options, StreamSink sink)
            throws IOException {
        StringJoiner q = streamQuery(container, options);
        command.forEach(c -> q.add("command=" + enc(c)));
        return WsStream.open(http, ws(pod, "exec?" + q), token, sink);
    }

    @Override
    public StreamSession attach(PodRef pod, String container, StreamOptions options, StreamSink sink) throws IOException {
        return WsStream.open(http, ws(pod, "attach?" + streamQuery(container, options)), token, sink);
    }

    @Override
    public Tunnel portForward(PodRef pod, int port, TunnelSink sink) throws IOException {
        WsStream s = WsStream.open(http, ws(pod, "portforward?port=" + port), token, new StreamSink() {
            @Override
            public void stdout(byte[] data, int offset, int length) throws IOException {
                sink.data(data, offset, length);
            }

            @Override
            public void stderr(byte[] data, int offset, int length) {
                // A port-forward has no stderr.
            }

            @Override
            public void closed(Integer exitCode, String failure) {
                sink.closed(failure);
            }
        });
        return new Tunnel() {
            @Override
            public void send(byte[] data, int offset, int length) throws IOException {
                s.stdin(data, offset, length);
            }

            @Override
            public void closeWrite() throws IOException {
                s.closeStdin();
            }

            @Override
            public void close() {
                s.close();
            }
        };
    }

    @Override
    public List<PodStats> stats() throws IOException {
        HttpResponse<byte[]> r = send(HttpRequest.newBuilder(base.resolve("/v1/tenants/" + enc(tenant) + "/stats")).GET()
                .timeout(Duration.ofSeconds(30)), HttpResponse.BodyHandlers.ofByteArray());
        if (r.statusCode() != 200) {
            throw refusal(r.statusCode(), r.body());
        }
        List<PodStats> out = new ArrayList<>();
        for (PodUsage u : Json.mapper().readValue(r.body(), PodUsage[].class)) {
            List<ContainerStats> containers = u.containers().stream().map(c -> new ContainerStats(c.name(), c.startTime(),
                    c.cpuUsageCoreNanoSeconds(), c.cpuUsageNanoCores(), c.memoryWorkingSetBytes(), c.memoryUsageBytes(),
                    c.memoryRssBytes(), c.sampledAt())).toList();
            List<GpuStats> gpus = u.gpus().stream().map(g -> new GpuStats(g.uuid(), g.model(), g.utilizationPercent(),
                    g.memoryUsedBytes(), g.memoryTotalBytes())).toList();
            out.add(new PodStats(new PodRef(u.namespace(), u.name(), u.podUid()), u.startTime(), containers, gpus));
        }
        return out;
    }

    private <T> HttpResponse<T> send(HttpRequest.Builder b, HttpResponse.BodyHandler<T> handler) throws IOException {
        try {
            return http.send(b.header("Authorization", "Bearer " + token).build(), handler);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    private static StringJoiner streamQuery(String container, StreamOptions o) {
        StringJoiner q = new StringJoiner("&");
        q.add("container=" + enc(container));
        q.add("stdin=" + o.stdin()).add("stdout=" + o.stdout()).add("stderr=" + o.stderr()).add("tty=" + o.tty());
        return q;
    }

    private URI uri(PodRef pod, String rest) {
        return base.resolve("/v1/tenants/" + enc(tenant) + "/workloads/" + enc(pod.uid()) + "/" + rest);
    }

    private URI ws(PodRef pod, String rest) {
        URI u = uri(pod, rest);
        return URI.create(u.toString().replaceFirst("^http", "ws"));
    }

    private static void add(StringJoiner q, String name, Long value) {
        if (value != null) {
            q.add(name + "=" + value);
        }
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    /** The control-api's error (kind, message) as the kubelet answers it. */
    static KubeletException refusal(int status, byte[] body) {
        String message;
        try {
            JsonNode n = Json.mapper().readTree(body);
            message = n.path("message").asText(new String(body, StandardCharsets.UTF_8));
        } catch (IOException e) {
            message = new String(body, StandardCharsets.UTF_8);
        }
        return new KubeletException(status, message);
    }
}
