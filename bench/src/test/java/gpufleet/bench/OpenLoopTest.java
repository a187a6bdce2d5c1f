package gpufleet.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class OpenLoopTest {
    private HttpServer server;
    private final Map<String, String> seen = new ConcurrentHashMap<>();

    @BeforeEach
    void start() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newFixedThreadPool(4));
        server.createContext("/", x -> {
            String path = x.getRequestURI().getPath();
            seen.put(path, x.getRequestHeaders().getFirst("Authorization") + " " + new String(x.getRequestBody().readAllBytes(),
                    StandardCharsets.UTF_8));
            byte[] answer = ("echo " + path).getBytes(StandardCharsets.UTF_8);
            int status = path.endsWith("/missing") ? 404 : 201;
            // Odd paths answer chunked (length 0 tells the JDK server to chunk), even ones with a Content-Length.
            boolean chunked = path.hashCode() % 2 != 0;
            x.sendResponseHeaders(status, chunked ? 0 : answer.length);
            try (OutputStream out = x.getResponseBody()) {
                out.write(answer);
            }
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    @Test
    void everyDueRequestIsBuiltSentAndAnsweredOnItsOwnPath() throws Exception {
        Map<Long, String> bodies = new ConcurrentHashMap<>();
        OpenLoop.Result r = OpenLoop.run("127.0.0.1", server.getAddress().getPort(), 4, 200, 1, new OpenLoop.Source() {
            @Override
            public OpenLoop.Request request(long i) {
                String path = i == 7 ? "/hosts/missing" : "/hosts/h" + i;
                return new OpenLoop.Request("POST", path, Map.of("Authorization", "Bearer t" + i),
                        ("{\"n\":" + i + "}").getBytes(StandardCharsets.UTF_8));
            }

            @Override
            public void answered(long i, int status, byte[] body) {
                bodies.put(i, status + " " + new String(body, StandardCharsets.UTF_8));
            }
        });
        assertThat(r.byClass()[2]).isEqualTo(199);
        assertThat(r.byClass()[4]).isEqualTo(1);
        assertThat(r.failed() + r.notStarted() + r.unanswered()).isZero();
        assertThat(r.latency().getTotalCount()).isEqualTo(200);
        assertThat(r.offeredPerSecond()).isEqualTo(200.0);
        assertThat(seen).hasSize(200).containsEntry("/hosts/h42", "Bearer t42 {\"n\":42}");
        assertThat(bodies).hasSize(200).containsEntry(42L, "201 echo /hosts/h42").containsEntry(43L, "201 echo /hosts/h43")
                .containsEntry(7L, "404 echo /hosts/missing");
    }

    @Test
    void requestsLostWithTheServerCountAsFailedOrNotStarted() throws Exception {
        int port = server.getAddress().getPort();
        server.stop(0);
        OpenLoop.Result r = OpenLoop.run("127.0.0.1", port, 2, 100, 0.5, i -> new OpenLoop.Request("GET", "/", Map.of(), null));
        assertThat(r.latency().getTotalCount()).isZero();
        assertThat(r.failed() + r.notStarted()).isEqualTo(50);
    }
}
