package gpufleet.tenant.pod;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * A TCP relay on a port it holds until closed, in front of a server that may go away and come
 * back elsewhere: the agent keeps one provider address while the control-api behind it restarts,
 * and no port is ever given up for another process to take. With nobody behind it, each
 * connection is reset at once, as a refused one would be.
 */
final class TcpRelay implements AutoCloseable {
    private final ServerSocket listener;
    private volatile int target;

    TcpRelay(int target) throws IOException {
        this.target = target;
        listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        daemon(this::accept, "tcp-relay");
    }

    int port() {
        return listener.getLocalPort();
    }

    /** Where new connections go from now on; 0: nowhere. */
    void target(int port) {
        target = port;
    }

    private void accept() {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                int to = target;
                try {
                    if (to == 0) {
                        throw new IOException("nobody behind the relay");
                    }
                    Socket server = new Socket(InetAddress.getLoopbackAddress(), to);
                    daemon(() -> pump(client, server), "tcp-relay-up");
                    daemon(() -> pump(server, client), "tcp-relay-down");
                } catch (IOException e) {
                    client.setSoLinger(true, 0);
                    client.close();
                }
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private static void pump(Socket from, Socket to) {
        try (from; to; InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            in.transferTo(out);
        } catch (IOException e) {
            // one side went away: both are closed
        }
    }

    private static void daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void close() throws IOException {
        listener.close();
    }
}
