package gpufleet.host.workload;

import gpufleet.host.listen.Admission;
import gpufleet.host.listen.KeepAlive;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One published port: a TCP listener on the host that forwards each connection it accepts to a
 * target (a pod's address and container port), bytes both ways. A half-close on one side is passed
 * on to the other; once both directions have ended, or either fails, both sockets are closed.
 * The listening port stays the same when the target moves (a recreated pod sandbox gets a new
 * address): connections to the old target are closed, new ones go to the new target.
 * Connections are bounded by {@link RelayLimits}, host-wide through the shared {@link Admission}:
 * one over a bound is reset on the accept thread before any thread or buffer is made for it.
 */
final class RelayListener implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RelayListener.class);
    static final int CONNECT_TIMEOUT_MILLIS = 5_000;
    private static final int BUFFER = 16 * 1024;

    private final String name;
    private final ServerSocket server;
    private final Thread acceptor;
    private final Set<Connection> live = ConcurrentHashMap.newKeySet();
    private final AtomicInteger accepted = new AtomicInteger();
    private final AtomicLong refused = new AtomicLong();
    private final AtomicLong timedOut = new AtomicLong();
    private final RelayLimits limits;
    private final Admission admission;
    private volatile InetSocketAddress target;
    private volatile boolean closed;

    /**
     * Listens on {@code address}, on an ephemeral port; {@code name} names its threads. A null
     * {@code target} accepts and closes connections at once until one is set.
     */
    RelayListener(String name, InetAddress address, InetSocketAddress target, RelayLimits limits, Admission admission)
            throws IOException {
        this.name = name;
        this.target = target;
        this.limits = limits;
        this.admission = admission;
        this.server = new ServerSocket();
        server.setReuseAddress(false);
        server.bind(new InetSocketAddress(address, 0), 128);
        acceptor = new Thread(this::acceptLoop, "relay-" + name + "-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** The port connections arrive on. */
    int port() {
        return server.getLocalPort();
    }

    InetSocketAddress target() {
        return target;
    }

    /** Points new connections at {@code next}; connections to another target are closed. */
    void target(InetSocketAddress next) {
        InetSocketAddress before = target;
        target = next;
        if (before != null && !before.equals(next)) {
            live.forEach(Connection::close);
        }
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                if (closed) {
                    return;
                }
                // Out of descriptors, most likely: a relay that stopped here would stay deaf for good.
                log.warn("relay {}: accept failed: {}", name, e.getMessage());
                pause();
                continue;
            }
            InetSocketAddress to = target;
            if (to == null || closed) {
                closeQuietly(client);
                continue;
            }
            InetAddress from = client.getInetAddress();
            if (live.size() >= limits.perListener() || !admission.enter(from)) {
                refuse(client, from);
                continue;
            }
            Connection c = new Connection(client, to, from);
            live.add(c);
            if (closed) {
                c.close(); // close() may have run between the check above and the add.
                continue;
            }
            Thread t = new Thread(c::run, "relay-" + name + "-conn-" + accepted.incrementAndGet());
            t.setDaemon(true);
            t.start();
        }
    }

    private void pause() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closed = true;
        }
    }

    /** Resets the connection at once; logged for the first and then every thousandth, not each. */
    private void refuse(Socket client, InetAddress from) {
        long n = refused.incrementAndGet();
        try {
            client.setSoLinger(true, 0);
        } catch (IOException e) {
            // Closed below anyway.
        }
        closeQuietly(client);
        if (n % 1000 == 1) {
            log.warn("relay {}: connection from {} refused at the bounds ({} on this port, {} per address, {} on the host); {} so far",
                    name, from.getHostAddress(), limits.perListener(), limits.perSource(), limits.connections(), n);
        }
    }

    /** Stops listening and closes every live connection; once it returns, the port refuses connections. */
    @Override
    public void close() {
        closed = true;
        closeQuietly(server);
        // The kernel keeps a socket listening while a thread is still inside accept() on it, even
        // after close: wait for the acceptor to leave, or a connection could still be taken.
        if (Thread.currentThread() != acceptor) {
            try {
                acceptor.join(2_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        live.forEach(Connection::close);
    }

    int liveConnections() {
        return live.size();
    }

    /** Connections reset at once over a bound, and closed for moving no byte for the idle time. */
    long refused() {
        return refused.get();
    }

    long timedOut() {
        return timedOut.get();
    }

    /** One accepted connection and its link to the target. */
    private final class Connection {
        private final Socket client;
        private final InetSocketAddress to;
        private final Socket upstream = new Socket();
        private final AtomicInteger directionsLeft = new AtomicInteger(2);
        private final InetAddress from;
        private final AtomicBoolean released = new AtomicBoolean();
        /** When a byte last moved either way: one direction may rightly be quiet while the other streams. */
        private volatile long lastByteNanos = System.nanoTime();

        Connection(Socket client, InetSocketAddress to, InetAddress from) {
            this.client = client;
            this.to = to;
            this.from = from;
        }

        /** Connects, then copies client → target here and target → client on a second thread. */
        void run() {
            try {
                prepare(client);
                prepare(upstream);
                upstream.connect(to, CONNECT_TIMEOUT_MILLIS);
            } catch (IOException e) {
                log.debug("relay {}: cannot reach {}: {}", name, to, e.getMessage());
                close();
                return;
            }
            Thread back = new Thread(() -> pump(upstream, client), Thread.currentThread().getName() + "-back");
            back.setDaemon(true);
            back.start();
            pump(client, upstream);
        }

        private void prepare(Socket s) throws IOException {
            s.setTcpNoDelay(true);
            // Reads wake at this interval to check the idle time; the limit is on both directions together.
            s.setSoTimeout((int) Math.min(Integer.MAX_VALUE, Math.max(1, limits.idle().toMillis() / 4)));
            KeepAlive.apply(s, limits.keepAliveIdle());
        }

        private void pump(Socket source, Socket into) {
            byte[] buf = new byte[BUFFER];
            try {
                InputStream in = source.getInputStream();
                OutputStream out = into.getOutputStream();
                while (true) {
                    int n;
                    try {
                        n = in.read(buf);
                    } catch (SocketTimeoutException quiet) {
                        if (System.nanoTime() - lastByteNanos < limits.idle().toNanos()) {
                            continue;
                        }
                        timedOut.incrementAndGet();
                        log.debug("relay {}: connection from {} idle for {}; closed", name, from.getHostAddress(), limits.idle());
                        close();
                        return;
                    }
                    if (n < 0) {
                        break;
                    }
                    lastByteNanos = System.nanoTime();
                    out.write(buf, 0, n);
                    out.flush();
                }
                // This side sent everything it will: tell the other, which may still answer.
                into.shutdownOutput();
                if (directionsLeft.decrementAndGet() == 0) {
                    close();
                }
            } catch (IOException e) {
                close();
            }
        }

        void close() {
            closeQuietly(client);
            closeQuietly(upstream);
            live.remove(this);
            if (released.compareAndSet(false, true)) {
                admission.leave(from);
            }
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            // Closing what is going away anyway.
        }
    }

    @Override
    public String toString() {
        return "relay " + name + " on " + server.getLocalSocketAddress() + " -> " + target;
    }
}
