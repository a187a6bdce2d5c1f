package gpufleet.control.ops;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * /metrics on a listener of its own (GPUFLEET_METRICS_LISTEN), never on the API's port: the API
 * port is what the edge and tenants reach, and a scrape shows every route's traffic and the pool's
 * state. Prometheus scrapes this address over the private network, as it does node exporters.
 */
public final class MetricsServer implements AutoCloseable {
    private static final String TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8";

    private final HttpServer server;
    private final ExecutorService threads;

    public MetricsServer(String host, int port, Metrics metrics) {
        try {
            server = HttpServer.create(new InetSocketAddress(host, port), 16);
        } catch (IOException e) {
            throw new UncheckedIOException("GPUFLEET_METRICS_LISTEN: cannot listen on " + host + ":" + port
                    + " for metrics: " + e.getMessage(), e);
        }
        // One scrape at a time is what Prometheus does; a second scraper waits its turn.
        threads = Executors.newSingleThreadExecutor(r -> new Thread(r, "metrics-http"));
        server.setExecutor(threads);
        server.createContext("/", ex -> {
            if (!ex.getRequestURI().getPath().equals("/metrics")) {
                reply(ex, 404, "text/plain; charset=utf-8", "not found: this listener serves /metrics only\n");
            } else if (!ex.getRequestMethod().equals("GET") && !ex.getRequestMethod().equals("HEAD")) {
                reply(ex, 405, "text/plain; charset=utf-8", "/metrics answers GET only\n");
            } else {
                reply(ex, 200, TEXT_FORMAT, metrics.registry().scrape());
            }
        });
        server.start();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private static void reply(HttpExchange ex, int status, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        boolean head = ex.getRequestMethod().equals("HEAD");
        ex.sendResponseHeaders(status, head ? -1 : bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            if (!head) {
                out.write(bytes);
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
    }
}
