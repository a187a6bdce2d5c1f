package gpufleet.faults;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The only road between one host-agent and the control-api: a TCP relay on a port of its own.
 * {@link #cut()} is a partition (every connection dropped, new ones refused: the agent's packets
 * go nowhere); {@link #heal()} opens the road again on the same port.
 */
final class Partition implements AutoCloseable {
    final int port = Ports.free();
    private final int target;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private volatile ServerSocket listener;

    Partition(int target) {
        this.target = target;
        heal();
    }

    synchronized void heal() {
        try {
            ServerSocket s = new ServerSocket();
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            listener = s;
            Thread t = new Thread(() -> accept(s), "partition-" + port);
            t.setDaemon(true);
            t.start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot open the road on port " + port, e);
        }
    }

    synchronized void cut() {
        close(listener);
        open.forEach(Partition::close);
        open.clear();
    }

    private void accept(ServerSocket s) {
        while (!s.isClosed()) {
            try {
                Socket in = s.accept();
                Socket out = new Socket(InetAddress.getLoopbackAddress(), target);
                open.add(in);
                open.add(out);
                pipe(in, out);
                pipe(out, in);
            } catch (IOException e) {
                // The listener was closed (cut) or the control-api is down: nothing to relay.
            }
        }
    }

    private void pipe(Socket from, Socket to) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[16384];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                for (int n; (n = in.read(buf)) >= 0; ) {
                    out.write(buf, 0, n);
                }
            } catch (IOException e) {
                // cut, or one side went away
            } finally {
                close(from);
                close(to);
                open.remove(from);
                open.remove(to);
            }
        }, "partition-pipe");
        t.setDaemon(true);
        t.start();
    }

    private static void close(java.io.Closeable c) {
        try {
            if (c != null) {
                c.close();
            }
        } catch (IOException e) {
            // already closed
        }
    }

    @Override
    public void close() {
        cut();
    }
}
