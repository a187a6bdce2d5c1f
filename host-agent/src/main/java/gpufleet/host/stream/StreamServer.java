package gpufleet.host.stream;

import gpufleet.common.Json;
import gpufleet.common.stream.Frames;
import gpufleet.common.stream.StreamRequest;
import gpufleet.common.stream.TicketGate;
import gpufleet.host.listen.Admission;
import gpufleet.host.listen.KeepAlive;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.time.Instant;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host-agent's stream server: the control-api opens one TLS connection per kubectl logs, exec,
 * attach, port-forward or stats request, sends a {@link StreamRequest} line with a single-use
 * ticket signed by this agent's stream key for exactly that request, and then frames flow both ways. One thread per direction and
 * blocking writes: a slow reader stalls its writer instead of filling memory.
 *
 * <p>Pods can dial this port too, so every connection is bounded by {@link StreamLimits}: one over
 * a bound is reset on the accept thread with nothing allocated; one that has not sent a verified
 * request line by the deadline is closed; the session buffers exist only after the ticket checks.
 * Blocking sockets rather than NIO, so that the stream channel can be wrapped in TLS as it is.
 */
public final class StreamServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(StreamServer.class);
    private static final int MAX_REQUEST_LINE = 64 * 1024;
    /** Enough for a usual request line in one read; the line itself may grow to MAX_REQUEST_LINE. */
    private static final int HANDSHAKE_BUFFER = 2 * 1024;
    private static final int SESSION_BUFFER = 64 * 1024;

    private final ServerSocket server;
    private final TicketGate tickets;
    private final SSLSocketFactory tls;
    private final StreamHandler handler;
    private final StreamLimits limits;
    private final Admission strangers;
    private final Semaphore sessions;
    private final ThreadPoolExecutor threads;
    private final ScheduledThreadPoolExecutor deadlines;
    private final Thread acceptor;
    private final AtomicLong refused = new AtomicLong();
    private final AtomicLong timedOut = new AtomicLong();
    private final AtomicLong accepted = new AtomicLong();
    private final AtomicLong lastStrangerWarning = new AtomicLong(System.nanoTime() - TimeUnit.SECONDS.toNanos(10));
    private volatile boolean open = true;

    public StreamServer(InetAddress address, int port, String key, SSLContext tls, StreamHandler handler) {
        this(address, port, key, tls, handler, StreamLimits.DEFAULT);
    }

    /**
     * Serves TLS with {@code tls}'s certificate (the one the control-api pins) and admits a request
     * only with a single-use ticket signed with {@code key} for exactly that request.
     */
    public StreamServer(InetAddress address, int port, String key, SSLContext tls, StreamHandler handler, StreamLimits limits) {
        this.tickets = new TicketGate(key);
        this.tls = tls.getSocketFactory();
        this.handler = handler;
        this.limits = limits;
        this.strangers = new Admission(limits.pending(), limits.pendingPerSource());
        this.sessions = new Semaphore(limits.sessions());
        AtomicInteger n = new AtomicInteger();
        this.threads = new ThreadPoolExecutor(0, limits.threads(), 30, TimeUnit.SECONDS, new SynchronousQueue<>(),
                r -> daemon(r, "stream-" + n.incrementAndGet()));
        this.deadlines = new ScheduledThreadPoolExecutor(1, r -> daemon(r, "stream-deadlines"));
        deadlines.setRemoveOnCancelPolicy(true);
        try {
            server = new ServerSocket();
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress(address, port), 128);
        } catch (IOException e) {
            deadlines.shutdownNow();
            throw new UncheckedIOException("cannot listen for streams on " + address.getHostAddress() + ":" + port
                    + ": " + e.getMessage(), e);
        }
        acceptor = daemon(this::acceptLoop, "stream-accept");
        acceptor.start();
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    public int port() {
        return server.getLocalPort();
    }

    /** What the control-api dials: host:port as a literal address. */
    public String address() {
        String host = server.getInetAddress().getHostAddress();
        return (host.contains(":") ? "[" + host.replaceFirst("%.*$", "") + "]" : host) + ":" + port();
    }

    /** False once the accept thread has ended: the agent's loop health reports it. */
    public boolean accepting() {
        return open && acceptor.isAlive();
    }

    /**
     * Connections accepted, reset at once over a bound, and closed for missing the request
     * deadline; connections waiting for their request line and sessions being served now.
     */
    public record Counts(long accepted, long refused, long timedOut, int pending, int sessions) {}

    public Counts counts() {
        return new Counts(accepted.get(), refused.get(), timedOut.get(), strangers.total(),
                limits.sessions() - sessions.availablePermits());
    }

    private void acceptLoop() {
        while (open) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                if (open) {
                    // Out of descriptors, most likely: pause, or this loop spins on the same error.
                    log.warn("stream server accept failed: {}", e.getMessage());
                    pause();
                }
                continue;
            }
            accepted.incrementAndGet();
            InetAddress from = s.getInetAddress();
            if (!strangers.enter(from)) {
                refuse(s, from);
                continue;
            }
            try {
                threads.execute(() -> serve(s, from));
            } catch (RejectedExecutionException e) {
                strangers.leave(from);
                refuse(s, from);
            }
        }
    }

    /** Resets the connection: no reply, no buffer, no TIME_WAIT kept for it on this side. */
    private void refuse(Socket s, InetAddress from) {
        long n = refused.incrementAndGet();
        try {
            s.setSoLinger(true, 0);
        } catch (IOException e) {
            // Closed below anyway.
        }
        closeQuietly(s);
        strangerWarning("stream connection from {} refused: at the bound of {} waiting ({} per address); {} refused so far",
                from.getHostAddress(), limits.pending(), limits.pendingPerSource(), n);
    }

    /** A flood makes thousands of these a second: one line every ten seconds at most. */
    private void strangerWarning(String format, Object... args) {
        long now = System.nanoTime();
        long last = lastStrangerWarning.get();
        if (now - last >= TimeUnit.SECONDS.toNanos(10) && lastStrangerWarning.compareAndSet(last, now)) {
            log.warn(format, args);
        }
    }

    private void serve(Socket socket, InetAddress from) {
        boolean stranger = true;
        try (socket) {
            Opening opening;
            try {
                opening = readRequest(socket);
            } catch (IOException | RuntimeException e) {
                // Gone, too slow or not our protocol: nothing worth a line each.
                log.debug("stream connection from {} dropped before a request: {}", from.getHostAddress(), e.toString());
                return;
            }
            if (opening == null) {
                return;
            }
            StreamRequest req = opening.request();
            DataOutputStream raw = new DataOutputStream(opening.tls().getOutputStream());
            String refusal = tickets.admit(req, Instant.now());
            if (refusal != null) {
                strangerWarning("stream refused from {}: {}", socket.getRemoteSocketAddress(), refusal);
                Conversation.reply(raw, new StreamRequest.Reply(401, refusal));
                return;
            }
            strangers.leave(from);
            stranger = false;
            if (!sessions.tryAcquire()) {
                Conversation.reply(raw, new StreamRequest.Reply(503, "host is serving its limit of "
                        + limits.sessions() + " streams; try again later"));
                return;
            }
            try {
                session(socket, opening);
            } finally {
                closeQuietly(opening.tls()); // close_notify, then the connection
                sessions.release();
            }
        } catch (SocketException e) {
            log.debug("stream connection ended: {}", e.getMessage());
        } catch (IOException | RuntimeException e) {
            log.warn("stream failed: {}", e.toString());
        } finally {
            if (stranger) {
                strangers.leave(from);
            }
        }
    }

    /**
     * The TLS connection, its request line, and the input it was read from: bytes past the line
     * stay in its buffer.
     */
    private record Opening(SSLSocket tls, StreamRequest request, InputStream in) {}

    /**
     * The request line, read with a small buffer under the request deadline; null when the
     * deadline closed the connection first.
     */
    private Opening readRequest(Socket socket) throws IOException {
        long deadline = limits.requestDeadline().toMillis();
        ScheduledFuture<?> guard = deadlines.schedule(() -> {
            timedOut.incrementAndGet();
            closeQuietly(socket);
        }, deadline, TimeUnit.MILLISECONDS);
        try {
            // The read timeout alone would let a peer that trickles a byte at a time stay for ever.
            socket.setSoTimeout((int) deadline);
            // The handshake too is under the deadline: a peer that starts one and stalls is closed.
            SSLSocket tlsSocket = (SSLSocket) tls.createSocket(socket, null, socket.getPort(), true);
            tlsSocket.setUseClientMode(false);
            tlsSocket.startHandshake();
            InputStream in = new BufferedInputStream(tlsSocket.getInputStream(), HANDSHAKE_BUFFER);
            StreamRequest req = Json.mapper().readValue(Frames.line(in, MAX_REQUEST_LINE), StreamRequest.class);
            if (!guard.cancel(false)) {
                return null;
            }
            socket.setSoTimeout(0);
            return new Opening(tlsSocket, req, in);
        } finally {
            guard.cancel(false);
        }
    }

    private void session(Socket socket, Opening opening) throws IOException {
        socket.setTcpNoDelay(true);
        keepAlive(socket);
        DataInputStream in = new DataInputStream(new BufferedInputStream(opening.in(), SESSION_BUFFER));
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(opening.tls().getOutputStream(), SESSION_BUFFER));
        handler.handle(opening.request(), new Conversation(opening.tls(), in, out, threads));
    }

    /**
     * No idle timeout on a session: an exec shell may rightly say nothing for hours. Keep-alive
     * probes find a peer that vanished (half-open) after the idle time plus three unanswered probes.
     */
    private void keepAlive(Socket socket) throws IOException {
        KeepAlive.apply(socket, limits.keepAliveIdle());
    }

    private void pause() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            open = false;
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            // Going away anyway.
        }
    }

    @Override
    public void close() {
        open = false;
        closeQuietly(server);
        threads.shutdownNow();
        deadlines.shutdownNow();
    }

    /** Serves one verified request on its conversation. */
    public interface StreamHandler {
        void handle(StreamRequest request, Conversation conversation) throws IOException;
    }
}
