package gpufleet.host.workload;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import gpufleet.common.api.Probe;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The HTTP probe's rules on real local servers: the pod at 127.0.0.1, another host at 127.0.0.2
 * (a different address on loopback), which a probe must never reach.
 */
class ProberTest {
    HttpServer pod;
    HttpServer elsewhere;
    final AtomicInteger elsewhereHits = new AtomicInteger();
    final Map<String, String> seenHeaders = new ConcurrentHashMap<>();

    @BeforeEach
    void start() throws IOException {
        elsewhere = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.2"), 0), 0);
        elsewhere.createContext("/", x -> {
            elsewhereHits.incrementAndGet();
            x.sendResponseHeaders(200, -1);
            x.close();
        });
        elsewhere.start();
        pod = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 0);
        pod.createContext("/away", x -> redirect(x, "http://127.0.0.2:" + elsewhere.getAddress().getPort() + "/steal"));
        pod.createContext("/here", x -> redirect(x, "/ok"));
        pod.createContext("/ok", x -> {
            seenHeaders.put("X-Probe", String.valueOf(x.getRequestHeaders().getFirst("X-Probe")));
            seenHeaders.put("User-Agent", String.valueOf(x.getRequestHeaders().getFirst("User-Agent")));
            answer(x, 200, "fine");
        });
        pod.createContext("/down", x -> answer(x, 503, "down"));
        pod.createContext("/slow", x -> {
            try {
                Thread.sleep(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            answer(x, 200, "late");
        });
        pod.setExecutor(Executors.newCachedThreadPool());
        pod.start();
    }

    @AfterEach
    void stop() {
        pod.stop(0);
        elsewhere.stop(0);
    }

    private static void redirect(HttpExchange x, String to) throws IOException {
        x.getResponseHeaders().add("Location", to);
        answer(x, 302, "moved");
    }

    private static void answer(HttpExchange x, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        x.sendResponseHeaders(status, b.length);
        x.getResponseBody().write(b);
        x.close();
    }

    private Prober.Result get(String path, int timeoutSeconds) {
        return Prober.http(new Probe.HttpGet(path, pod.getAddress().getPort(), "HTTP", List.of(new Probe.Header("X-Probe", "yes"))),
                "127.0.0.1", Duration.ofSeconds(timeoutSeconds));
    }

    @Test
    void aRedirectToAnotherHostIsNeverFollowedAndPassesWithTheKubeletsWarning() {
        Prober.Result r = get("/away", 1);
        assertThat(r.kind()).isEqualTo(Prober.Kind.WARNING);
        assertThat(r.passed()).isTrue();
        assertThat(r.output()).isEqualTo("Probe terminated redirects, Response body: moved");
        assertThat(elsewhereHits).as("the other host was never contacted").hasValue(0);
    }

    @Test
    void aRedirectOnThePodItselfIsFollowedWithTheSpecsHeaders() {
        Prober.Result r = get("/here", 1);
        assertThat(r.kind()).isEqualTo(Prober.Kind.SUCCESS);
        assertThat(seenHeaders).containsEntry("X-Probe", "yes").containsEntry("User-Agent", "kube-probe/1.29");
    }

    @Test
    void aStatusFrom400FailsInTheKubeletsWords() {
        assertThat(get("/down", 1)).isEqualTo(new Prober.Result(Prober.Kind.FAILURE, "HTTP probe failed with statuscode: 503"));
    }

    @Test
    void aServerThatDoesNotAnswerFailsAtTheTimeoutNotLater() {
        long t0 = System.nanoTime();
        Prober.Result r = get("/slow", 1);
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        assertThat(r.kind()).isEqualTo(Prober.Kind.FAILURE);
        assertThat(r.output()).endsWith("/slow\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)");
        assertThat(took).isBetween(Duration.ofMillis(900), Duration.ofMillis(2500));
    }

    @Test
    void aClosedPortIsRefusedInTheKubeletsWords() {
        Prober.Result r = Prober.tcp("127.0.0.1", 1, Duration.ofSeconds(1));
        assertThat(r).isEqualTo(new Prober.Result(Prober.Kind.FAILURE, "dial tcp 127.0.0.1:1: connect: connection refused"));
    }
}
