package gpufleet.host.stream;

import gpufleet.common.Json;
import gpufleet.common.stream.Frames;
import gpufleet.common.stream.StreamRequest;
import gpufleet.common.stream.Tickets;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.time.Instant;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host-agent's stream server: the control-api opens one TCP connection per kubectl logs, exec,
 * attach, port-forward or stats request, sends a {@link StreamRequest} line with a ticket signed
 * by this agent's stream key, and then frames flow both ways. One thread per direction and
 * blocking writes: a slow reader stalls its writer instead of filling memory.
 */
public final class StreamServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(StreamServer.class);
    private static final int MAX_REQUEST_LINE = 64 * 1024;

    private final ServerSocket server;
    private final String key;
    private final StreamHandler handler;
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "stream");
        t.setDaemon(true);
        return t;
    });
    private volatile boolean open = true;

    public StreamServer(InetAddress address, int port, String key, StreamHandler handler) {
        this.key = key;
        this.handler = handler;
        try {
            server = new ServerSocket();
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress(address, port), 64);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot listen for streams on " + address.getHostAddress() + ":" + port
                    + ": " + e.getMessage(), e);
        }
        Thread accept = new Thread(this::acceptLoop, "stream-accept");
        accept.setDaemon(true);
        accept.start();
    }

    public int port() {
        return server.getLocalPort();
    }

    /** What the control-api dials: host:port as a literal address. */
    public String address() {
        String host = server.getInetAddress().getHostAddress();
        return (host.contains(":") ? "[" + host.replaceFirst("%.*$", "") + "]" : host) + ":" + port();
    }

    private void acceptLoop() {
        while (open) {
            try {
                Socket s = server.accept();
                threads.execute(() -> serve(s));
            } catch (IOException e) {
                if (open) {
                    log.warn("stream server accept failed: {}", e.getMessage());
                }
            }
        }
    }

    private void serve(Socket socket) {
        try (socket) {
            socket.setTcpNoDelay(true);
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 64 * 1024));
            DataOutputStream out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream(), 64 * 1024));
            StreamRequest req = Json.mapper().readValue(Frames.line(in, MAX_REQUEST_LINE), StreamRequest.class);
            String scope = StreamRequest.STATS.equals(req.op()) && req.workloads() != null
                    ? String.join(",", req.workloads()) : req.workload();
            String refused = Tickets.check(key, req.ticket(), String.valueOf(req.op()), String.valueOf(scope), Instant.now());
            if (refused != null) {
                log.warn("stream refused from {}: {}", socket.getRemoteSocketAddress(), refused);
                Conversation.reply(out, new StreamRequest.Reply(401, refused));
                return;
            }
            handler.handle(req, new Conversation(socket, in, out, threads));
        } catch (SocketException e) {
            log.debug("stream connection ended: {}", e.getMessage());
        } catch (IOException | RuntimeException e) {
            log.warn("stream failed: {}", e.toString());
        }
    }

    @Override
    public void close() {
        open = false;
        try {
            server.close();
        } catch (IOException e) {
            // Closing anyway.
        }
        threads.shutdownNow();
    }

    /** Serves one verified request on its conversation. */
    public interface StreamHandler {
        void handle(StreamRequest request, Conversation conversation) throws IOException;
    }
}
