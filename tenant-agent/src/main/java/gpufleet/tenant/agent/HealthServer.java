package gpufleet.tenant.agent;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The agent's plain-HTTP health port (GPUFLEET_HEALTH_PORT), for the kubelet's probes and the
 * image's health check: the kubelet API's own /healthz is behind TLS with a certificate that may
 * still wait for approval, which no probe should depend on. /healthz is liveness, /readyz
 * readiness; each answers 200 "ok", or 503 with the reason.
 */
public final class HealthServer implements AutoCloseable {
    private final HttpServer server;

    /** Each supplier gives the problem in words, or empty when there is none. */
    public HealthServer(int port, Supplier<Optional<String>> live, Supplier<Optional<String>> ready) {
        try {
            server = HttpServer.create(new InetSocketAddress("0.0.0.0", port), 16);
        } catch (IOException e) {
            throw new UncheckedIOException("GPUFLEET_HEALTH_PORT: cannot listen on port " + port + ": " + e.getMessage(), e);
        }
        server.createContext("/healthz", ex -> answer(ex, live.get()));
        server.createContext("/readyz", ex -> answer(ex, ready.get()));
        server.createContext("/", ex -> reply(ex, 404, "not found: try /healthz or /readyz\n"));
        server.start();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private static void answer(HttpExchange ex, Optional<String> problem) throws IOException {
        if (problem.isEmpty()) {
            reply(ex, 200, "ok\n");
        } else {
            reply(ex, 503, problem.get() + "\n");
        }
    }

    private static void reply(HttpExchange ex, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
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
