package gpufleet.host.listen;

import java.io.IOException;
import java.net.Socket;
import java.time.Duration;
import jdk.net.ExtendedSocketOptions;

/**
 * TCP keep-alive for the agent's long-lived connections (stream sessions, port relays): a peer that
 * vanished without closing (half-open) is dropped after {@code idle} plus three unanswered probes
 * ten seconds apart. The agent runs on Linux only (NVML, Docker, iptables), where the kernel takes
 * these per-socket times.
 */
public final class KeepAlive {
    private static final int INTERVAL_SECONDS = 10;
    private static final int PROBES = 3;

    private KeepAlive() {}

    public static void apply(Socket socket, Duration idle) throws IOException {
        socket.setKeepAlive(true);
        socket.setOption(ExtendedSocketOptions.TCP_KEEPIDLE, (int) Math.max(1, idle.toSeconds()));
        socket.setOption(ExtendedSocketOptions.TCP_KEEPINTERVAL, INTERVAL_SECONDS);
        socket.setOption(ExtendedSocketOptions.TCP_KEEPCOUNT, PROBES);
    }
}
