package gpufleet.control.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import gpufleet.control.support.ApiFixture;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** Request ids in the control-api's access log: honoured when well-formed, replaced otherwise, never a way to forge a line. */
class AccessLogIT {
    static ApiFixture fx;
    /** The access lines, each with the MDC of the thread that logged it (taken then: the map is read lazily). */
    static ListAppender<ILoggingEvent> lines = new ListAppender<>() {
        @Override
        protected void append(ILoggingEvent e) {
            e.prepareForDeferredProcessing();
            super.append(e);
        }
    };
    static final HttpClient client = HttpClient.newHttpClient();

    @BeforeAll
    static void start() {
        fx = ApiFixture.start();
        Logger access = ((LoggerContext) LoggerFactory.getILoggerFactory()).getLogger("gpufleet.access");
        lines.start();
        access.addAppender(lines);
    }

    @AfterAll
    static void stop() {
        ((LoggerContext) LoggerFactory.getILoggerFactory()).getLogger("gpufleet.access").detachAppender(lines);
        fx.close();
    }

    @BeforeEach
    void clear() {
        lines.list.clear();
    }

    @Test
    void aWellFormedIdIsHonouredEchoedAndLogged() throws Exception {
        HttpResponse<String> r = get("/v1/hosts", "edge-7f3a.0001");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("X-Request-Id")).contains("edge-7f3a.0001");
        ILoggingEvent line = lineFor("edge-7f3a.0001");
        assertThat(line.getFormattedMessage()).isEqualTo(line.getFormattedMessage().strip())
                .startsWith("GET /v1/hosts 200 ").endsWith(" ms").doesNotContain("request");
        assertThat(line.getMDCPropertyMap()).containsEntry(AccessLog.MDC_KEY, "edge-7f3a.0001");
    }

    @Test
    void withoutAnIdOneIsMadeAndAnswered() throws Exception {
        HttpResponse<String> r = get("/v1/hosts", null);
        String id = r.headers().firstValue("X-Request-Id").orElseThrow();
        assertThat(id).matches("[0-9a-f-]{36}");
        lineFor(id);
    }

    @Test
    void aMalformedOrHugeIdIsReplacedNotRefused() throws Exception {
        for (String bad : List.of("x\" forged=\"1", "a".repeat(6_000), "id with spaces", "é")) {
            HttpResponse<String> r = get("/v1/hosts", bad);
            assertThat(r.statusCode()).as("a bad id is the caller's label, not its input").isEqualTo(200);
            String id = r.headers().firstValue("X-Request-Id").orElseThrow();
            assertThat(id).matches("[0-9a-f-]{36}");
            lineFor(id);
        }
        assertThat(lines.list).extracting(ILoggingEvent::getFormattedMessage)
                .noneMatch(m -> m.contains("forged") || m.contains("aaaa") || m.contains("spaces"));
    }

    @Test
    void noRequestCanStartALineOfItsOwn() throws Exception {
        // Raw bytes: Java's client refuses to send these. A bare LF inside the id, a 10 KB id, a path with an encoded newline.
        String lf = raw("GET /v1/hosts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + ApiFixture.OPERATOR
                + "\r\nX-Request-Id: abc\n2026-01-01T00:00:00.000Z INFO forged line\r\nConnection: close\r\n\r\n");
        String huge = raw("GET /v1/hosts HTTP/1.1\r\nHost: x\r\nX-Request-Id: " + "b".repeat(10_240) + "\r\nConnection: close\r\n\r\n");
        String path = raw("GET /nothing/%0A2026-01-01T00:00:00.000Z%20INFO%20forged%0D%0Aline HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertThat(lf + huge + path).as("each got an answer").contains("HTTP/1.1");
        await().atMost(Duration.ofSeconds(5)).until(() -> lines.list.stream().anyMatch(e -> e.getFormattedMessage().contains("/nothing/")));
        for (ILoggingEvent e : List.copyOf(lines.list)) {
            assertThat(e.getFormattedMessage()).as("an access line").doesNotContain("\n").doesNotContain("\r").doesNotContain("bbbbbbbbbb");
        }
        // The path is logged as it came, still percent-encoded; escape() covers what a decoder would give.
        assertThat(lines.list).extracting(ILoggingEvent::getFormattedMessage)
                .anyMatch(m -> m.startsWith("GET /nothing/%0A2026-01-01T00:00:00.000Z%20INFO%20forged%0D%0Aline 404 "));
    }

    @Test
    void idsAreCheckedByOneRule() {
        assertThat(AccessLog.requestId("0af7651916cd43dd8448eb211c80319c")).isEqualTo("0af7651916cd43dd8448eb211c80319c");
        assertThat(AccessLog.requestId("a".repeat(128))).hasSize(128);
        assertThat(AccessLog.requestId("a".repeat(129))).hasSize(36);
        assertThat(AccessLog.requestId("")).hasSize(36);
        assertThat(AccessLog.escape("a\u2028b\\c", 200)).isEqualTo("a\\u2028b\\u005cc");
        assertThat(AccessLog.escape("x".repeat(300), 200)).hasSize(201).endsWith("…");
    }

    private static ILoggingEvent lineFor(String id) {
        await().atMost(Duration.ofSeconds(5)).until(() -> List.copyOf(lines.list).stream().anyMatch(e -> id.equals(e.getMDCPropertyMap().get(AccessLog.MDC_KEY))));
        return List.copyOf(lines.list).stream().filter(e -> id.equals(e.getMDCPropertyMap().get(AccessLog.MDC_KEY))).findFirst().orElseThrow();
    }

    private static HttpResponse<String> get(String path, String requestId) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + fx.api.port() + path))
                .header("Authorization", "Bearer " + ApiFixture.OPERATOR);
        if (requestId != null) {
            b.header("X-Request-Id", requestId);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String raw(String request) throws IOException {
        try (Socket s = new Socket("127.0.0.1", fx.api.port())) {
            s.setSoTimeout(5_000);
            OutputStream out = s.getOutputStream();
            out.write(request.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }
}
