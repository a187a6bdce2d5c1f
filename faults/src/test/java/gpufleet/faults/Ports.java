package gpufleet.faults;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

final class Ports {
    private Ports() {}

    /**
     * Ports handed out by this run: the kernel may give a port that was free a moment ago again,
     * and two programs of one fleet told the same port fail to start (it happened in a soak's start).
     */
    private static final Set<Integer> GIVEN = ConcurrentHashMap.newKeySet();

    /** A port free on the loopback address now (the caller binds it soon after), never one given before in this run. */
    static int free() {
        for (int attempt = 0; attempt < 100; attempt++) {
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                if (GIVEN.add(s.getLocalPort())) {
                    return s.getLocalPort();
                }
            } catch (IOException e) {
                throw new IllegalStateException("no free port", e);
            }
        }
        throw new IllegalStateException("no free port that this run has not given out already");
    }
}
