package gpufleet.host.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Supplier;

/**
 * Serves /metrics (Prometheus text) and /healthz with the JDK's own HTTP server. /healthz answers
 * 200 "ok" when {@code problems} is empty, else 503 with one reason a line (NVML, the container
 * runtime, contact with the control-api), for a systemd watchdog, a container health check or a
 * blackbox probe.
 */
public final class MetricsServer implements AutoCloseable {
    private final HttpServer server;

    public MetricsServer(String host, int port, Supplier<String> metrics, Supplier<List<String>> problems) {
        try {
            server = HttpServer.create(new InetSocketAddress(host, port), 16);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot listen on " + host + ":" + port + " for metrics: " + e.getMessage(), e);
        }
        server.createContext("/metrics", ex -> reply(ex, 200, "text/plain; version=0.0.4; charset=utf-8", metrics.get()));
        server.createContext("/healthz", ex -> {
            List<String> p = problems.get();
            if (p.isEmpty()) {
                reply(ex, 200, "text/plain; charset=utf-8", "ok\n");
            } else {
                reply(ex, 503, "text/plain; charset=utf-8", String.join("\n", p) + "\n");
            }
        });
        server.createContext("/", ex -> reply(ex, 404, "text/plain", "not found: try /metrics\n"));
        server.start();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private static void reply(HttpExchange ex, int status, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
