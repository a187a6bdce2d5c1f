package gpufleet.host.workload;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One published port: a TCP listener on the host that forwards each connection it accepts to a
 * target (a pod's address and container port), bytes both ways. A half-close on one side is passed
 * on to the other; once both directions have ended, or either fails, both sockets are closed.
 * The listening port stays the same when the target moves (a recreated pod sandbox gets a new
 * address): connections to the old target are closed, new ones go to the new target.
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
    private volatile InetSocketAddress target;
    private volatile boolean closed;

    /**
     * Listens on {@code address}, on an ephemeral port; {@code name} names its threads. A null
     * {@code target} accepts and closes connections at once until one is set.
     */
    RelayListener(String name, InetAddress address, InetSocketAddress target) throws IOException {
        this.name = name;
        this.target = target;
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
                if (!closed) {
                    log.warn("relay {} stops accepting: {}", name, e.getMessage());
                }
                return;
            }
            InetSocketAddress to = target;
            if (to == null || closed) {
                closeQuietly(client);
                continue;
            }
            Connection c = new Connection(client, to);
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

    /** One accepted connection and its link to the target. */
    private final class Connection {
        private final Socket client;
        private final InetSocketAddress to;
        private final Socket upstream = new Socket();
        private final AtomicInteger directionsLeft = new AtomicInteger(2);

        Connection(Socket client, InetSocketAddress to) {
            this.client = client;
            this.to = to;
        }

        /** Connects, then copies client → target here and target → client on a second thread. */
        void run() {
            try {
                client.setTcpNoDelay(true);
                upstream.setTcpNoDelay(true);
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

        private void pump(Socket from, Socket into) {
            byte[] buf = new byte[BUFFER];
            try {
                InputStream in = from.getInputStream();
                OutputStream out = into.getOutputStream();
                for (int n; (n = in.read(buf)) >= 0; ) {
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
