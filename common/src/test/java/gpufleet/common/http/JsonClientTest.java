package gpufleet.common.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The agents' requests carry an X-Request-Id each, and a refusal keeps the id it was answered for. */
class JsonClientTest {
    private final List<String> ids = new CopyOnWriteArrayList<>();
    private HttpServer server;
    private JsonClient client;

    @BeforeEach
    void start() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            ids.add(exchange.getRequestHeaders().getFirst("X-Request-Id"));
            boolean refuse = exchange.getRequestURI().getPath().equals("/refused");
            byte[] body = (refuse ? "{\"message\":\"exceeded quota\"}" : "{}").getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(refuse ? 403 : 200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
        client = new JsonClient(URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/"), Duration.ofSeconds(5));
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    @Test
    void everyRequestCarriesARequestIdOfItsOwn() throws Exception {
        client.tree("GET", "/ok", "t", null);
        client.tree("POST", "/ok", "t", "{}");
        assertThat(ids).hasSize(2).doesNotContainNull().doesNotHaveDuplicates();
        assertThat(ids).allMatch(id -> id.matches("[0-9a-f-]{36}"), "a UUID, which the control-api's access log keeps as it is");
    }

    @Test
    void aRefusalNamesTheRequestIdItWasAnsweredFor() {
        JsonClient.Refused refused = catchThrowableOfType(() -> client.tree("DELETE", "/refused", "t", null), JsonClient.Refused.class);
        assertThat(refused.status()).isEqualTo(403);
        assertThat(refused.getMessage()).as("the message stays as the API said it: events are grouped by it")
                .isEqualTo("DELETE /refused: 403 exceeded quota");
        assertThat(refused.requestId()).isEqualTo(ids.get(0));
        assertThat(JsonClient.reason(refused)).as("what the agents log").isEqualTo(refused.getMessage() + " [request " + ids.get(0) + "]");
    }
}
