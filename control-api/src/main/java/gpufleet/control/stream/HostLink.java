package gpufleet.control.stream;

import gpufleet.common.Json;
import gpufleet.common.stream.Frames;
import gpufleet.common.stream.StreamRequest;
import gpufleet.common.stream.Tickets;
import gpufleet.control.http.ApiException;
import gpufleet.control.http.ErrorKind;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.time.Instant;

/**
 * One stream connection to a host-agent: the request line with a ticket good for 30 seconds, the
 * host's answer, then frames. A refusal becomes the matching API error before anything streams.
 */
final class HostLink implements AutoCloseable {
    private static final Duration TICKET_LIFE = Duration.ofSeconds(30);
    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;

    private HostLink(Socket socket) throws IOException {
        this.socket = socket;
        this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 64 * 1024));
        this.out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream(), 64 * 1024));
    }

    /** Sends the request; returns once the host accepted it, else throws the host's refusal. */
    static HostLink open(HostStreams.Target t, String scope, StreamRequest draft) {
        String ticket = Tickets.sign(t.key(), draft.op(), scope, Instant.now().plus(TICKET_LIFE));
        StreamRequest req = new StreamRequest(draft.op(), t.workload() == null ? null : t.workload().toString(), ticket,
                t.namespace(), t.name(), draft.container(), draft.command(), draft.stdin(), draft.stdout(), draft.stderr(),
                draft.tty(), draft.follow(), draft.tailLines(), draft.sinceSeconds(), draft.sinceTime(), draft.timestamps(),
                draft.previous(), draft.limitBytes(), draft.port(), draft.workloads());
        Socket s = new Socket();
        try {
            int colon = t.address().lastIndexOf(':');
            String host = t.address().substring(0, colon).replace("[", "").replace("]", "");
            s.connect(new InetSocketAddress(host, Integer.parseInt(t.address().substring(colon + 1))), 5000);
            s.setTcpNoDelay(true);
            HostLink link = new HostLink(s);
            link.out.write(Json.mapper().writeValueAsBytes(req));
            link.out.write('\n');
            link.out.flush();
            StreamRequest.Reply reply = Json.mapper().readValue(Frames.line(link.in, 64 * 1024), StreamRequest.Reply.class);
            if (reply.status() != 200) {
                s.close();
                throw new ApiException(kind(reply.status()), reply.message());
            }
            return link;
        } catch (IOException e) {
            closeQuietly(s);
            throw new ApiException(ErrorKind.UNAVAILABLE, "cannot reach host " + t.hostName() + " for streams at "
                    + t.address() + ": " + e.getMessage());
        }
    }

    private static ErrorKind kind(int status) {
        return switch (status) {
            case 400 -> ErrorKind.INVALID;
            case 404 -> ErrorKind.NOT_FOUND;
            case 409 -> ErrorKind.CONFLICT;
            // 401 included: the host refused our ticket (a key mismatch), not the caller's fault.
            default -> ErrorKind.UNAVAILABLE;
        };
    }

    Frames.Frame next() throws IOException {
        return Frames.read(in);
    }

    synchronized void send(int channel, byte[] data, int offset, int length) throws IOException {
        Frames.write(out, channel, data, offset, length);
        out.flush();
    }

    @Override
    public void close() {
        closeQuietly(socket);
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // Already closed.
        }
    }
}
