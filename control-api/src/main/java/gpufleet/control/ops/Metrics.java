package gpufleet.control.ops;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Prometheus metrics: request latency histograms by route, pool usage (HikariCP), JVM. Served by
 * {@link MetricsServer} on its own listener, not on the API's routes.
 */
public final class Metrics {
    private static final String START = "gpufleet.requestStart";

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Map<String, Timer> timers = new ConcurrentHashMap<>();

    public Metrics() {
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    /** Times every request of the API's server. */
    public void install(RoutesConfig routes) {
        routes.before(ctx -> ctx.attribute(START, System.nanoTime()));
        routes.after(this::record);
    }

    private static final Set<String> METHODS = Set.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS");

    /**
     * The method as a label from a fixed set: the server accepts any token as a method, and a
     * label value per made-up verb would let anyone grow the registry (and every scrape) without end.
     */
    static String method(Context ctx) {
        String m = ctx.method().toString();
        return METHODS.contains(m) ? m : "other";
    }

    /**
     * The route's template ("/v1/hosts/{host}"), never the path asked for: a label value per
     * requested path would let anyone grow the registry, as made-up methods could.
     */
    static String route(Context ctx) {
        var endpoint = ctx.endpoints().matchedHttpEndpoint();
        return endpoint == null ? "unmatched" : endpoint.path;
    }

    private void record(Context ctx) {
        Long start = ctx.attribute(START);
        if (start == null) {
            return;
        }
        String method = method(ctx);
        String route = route(ctx);
        int status = ctx.statusCode();
        // Building a timer's identity costs more than the request it times on a heartbeat; the
        // keys are bounded (methods from a set, route templates, status codes), so keep each one.
        timers.computeIfAbsent(method + ' ' + status + ' ' + route, k -> Timer.builder("http_server_requests")
                        .description("control-api request latency")
                        .tag("method", method)
                        .tag("route", route)
                        .tag("status", Integer.toString(status))
                        .publishPercentileHistogram()
                        .minimumExpectedValue(Duration.ofMillis(1))
                        .maximumExpectedValue(Duration.ofSeconds(10))
                        .register(registry))
                .record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
    }
}
