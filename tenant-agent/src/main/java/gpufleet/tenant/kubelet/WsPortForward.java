package gpufleet.tenant.kubelet;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Port-forward over WebSocket: one connection per port named in the query; port i uses channel 2i
 * for data and 2i+1 for errors, and the first message on each carries the port (2 bytes, little
 * endian). The WebSocket closes once every connection ended.
 */
final class WsPortForward extends WsChannels {
    static final List<String> PROTOCOLS = List.of("v4.channel.k8s.io", "v4.base64.channel.k8s.io", "portforward.k8s.io");

    private final List<Integer> ports;
    private final List<PortTunnel> tunnels = new ArrayList<>();
    private final AtomicInteger open;

    WsPortForward(KubeletBackend backend, Executor pool, Channel channel, KubeletBackend.PodRef pod, List<Integer> ports, String protocol) {
        super(protocol);
        this.ports = ports;
        this.open = new AtomicInteger(ports.size());
        for (int i = 0; i < ports.size(); i++) {
            int data = 2 * i;
            tunnels.add(new PortTunnel(backend, pod, ports.get(i), new PortTunnel.Output() {
                @Override
                public void data(byte[] bytes, int offset, int length) throws IOException {
                    send(data, bytes, offset, length);
                }

                @Override
                public void end(String failure) {
                    if (failure != null) {
                        sendNow(data + 1, Statuses.utf8(failure));
                    }
                    if (open.decrementAndGet() == 0) {
                        closeNormally();
                    }
                }
            }, new InputPump(pool, channel)));
        }
    }

    /** The ports from the query ({@code port}, as the API server sends it, or {@code ports}; comma-separated lists too). */
    static List<Integer> ports(Map<String, List<String>> query) {
        List<Integer> ports = new ArrayList<>();
        for (String key : List.of("port", "ports")) {
            for (String value : query.getOrDefault(key, List.of())) {
                for (String p : value.split(",")) {
                    try {
                        int port = Integer.parseInt(p.trim());
                        if (port < 1 || port > 65535) {
                            throw new NumberFormatException();
                        }
                        ports.add(port);
                    } catch (NumberFormatException e) {
                        throw new KubeletException(400, "invalid port \"" + p + "\": it must be a number between 1 and 65535");
                    }
                }
            }
        }
        if (ports.isEmpty()) {
            throw new KubeletException(400, "query parameter \"port\" is required");
        }
        return ports;
    }

    /** Announces each port on its two channels and opens the connections. */
    void begin() {
        for (int i = 0; i < ports.size(); i++) {
            byte[] port = {(byte) (ports.get(i) & 0xff), (byte) (ports.get(i) >> 8)};
            sendNow(2 * i, port);
            sendNow(2 * i + 1, port);
        }
        tunnels.forEach(PortTunnel::open);
    }

    @Override
    protected void message(int channel, ByteBuf data) {
        if (channel % 2 == 0 && channel / 2 < tunnels.size() && data.isReadable()) {
            tunnels.get(channel / 2).send(data);
        }
    }

    @Override
    protected void closed() {
        tunnels.forEach(PortTunnel::close);
    }
}
