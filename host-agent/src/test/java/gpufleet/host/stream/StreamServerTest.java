package gpufleet.host.stream;

import static org.assertj.core.api.Assertions.assertThat;

import gpufleet.common.Json;
import gpufleet.common.stream.Frames;
import gpufleet.common.stream.StreamRequest;
import gpufleet.common.stream.Tickets;
import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StreamServerTest {
    private final String key = Tickets.newKey();

    private static StreamRequest logs(String ticket) {
        return new StreamRequest("logs", "w-1", ticket, "default", "p", "main", null, false, true, true, false, false,
                null, null, null, false, false, null, null, null);
    }

    private String ask(StreamServer server, StreamRequest req) throws Exception {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
            s.getOutputStream().write(Json.mapper().writeValueAsBytes(req));
            s.getOutputStream().write('\n');
            return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
        }
    }

    @Test
    void aRequestWithoutAGoodTicketIsRefusedAndNeverServed() throws Exception {
        List<StreamRequest> served = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (StreamServer server = new StreamServer(InetAddress.getLoopbackAddress(), 0, key, (r, c) -> served.add(r))) {
            assertThat(ask(server, logs(null))).isEqualTo("{\"status\":401,\"message\":\"no stream ticket\"}");
            String forExec = Tickets.sign(key, "exec", "w-1", Instant.now().plusSeconds(30));
            assertThat(ask(server, logs(forExec))).contains("\"status\":401").contains("not valid for logs on workload w-1");
            String otherKey = Tickets.sign(Tickets.newKey(), "logs", "w-1", Instant.now().plusSeconds(30));
            assertThat(ask(server, logs(otherKey))).contains("\"status\":401");
            assertThat(served).isEmpty();
        }
    }

    @Test
    void aGoodTicketReachesTheHandlerWhichAnswersInFrames() throws Exception {
        StreamServer.StreamHandler echo = (r, c) -> {
            c.ok();
            byte[] b = ("hello " + r.pod()).getBytes(StandardCharsets.UTF_8);
            c.send(Frames.STDOUT, b, 0, b.length);
            c.end(Map.of());
        };
        try (StreamServer server = new StreamServer(InetAddress.getLoopbackAddress(), 0, key, echo);
             Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
            s.getOutputStream().write(Json.mapper().writeValueAsBytes(logs(Tickets.sign(key, "logs", "w-1", Instant.now().plusSeconds(30)))));
            s.getOutputStream().write('\n');
            DataInputStream in = new DataInputStream(s.getInputStream());
            StringBuilder line = new StringBuilder();
            for (int c = in.read(); c != '\n'; c = in.read()) {
                line.append((char) c);
            }
            assertThat(line.toString()).isEqualTo("{\"status\":200}");
            assertThat(Frames.read(in).text()).isEqualTo("hello p");
            Frames.Frame end = Frames.read(in);
            assertThat(end.channel()).isEqualTo(Frames.END);
            assertThat(server.address()).isEqualTo("127.0.0.1:" + server.port());
        }
    }
}
