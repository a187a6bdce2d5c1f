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
import java.net.Socket;
import java.time.Instant;

/**
 * One stream connection to a host-agent, over TLS to the host's pinned certificate: the request
 * line with a single-use ticket for exactly that request, the host's answer, then frames. A
 * refusal becomes the matching API error before anything streams.
 */
final class HostLink implements AutoCloseable {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(HostLink.class);
    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;

    private HostLink(Socket socket) throws IOException {
        this.socket = socket;
        this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 64 * 1024));
        this.out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream(), 64 * 1024));
    }

    /** Sends the request; returns once the host accepted it, else throws the host's refusal. */
    static HostLink open(HostStreams.Target t, StreamRequest draft) {
        StreamRequest req = withTicket(t, draft, null);
        req = withTicket(t, draft, Tickets.sign(t.key(), req, Instant.now().plus(Tickets.LIFE)));
        Socket s = null;
        try {
            s = PinnedTls.connect(t.address(), t.certificate(), t.hostName());
            HostLink link = new HostLink(s);
            link.out.write(Json.mapper().writeValueAsBytes(req));
            link.out.write('\n');
            link.out.flush();
            StreamRequest.Reply reply = Json.mapper().readValue(Frames.line(link.in, 64 * 1024), StreamRequest.Reply.class);
            if (reply.status() != 200) {
                s.close();
                throw new ApiException(kind(reply.status()), reply.message());
            }
            s.setSoTimeout(0); // From here a stream may idle as long as kubectl keeps it.
            return link;
        } catch (IOException e) {
            if (s != null) {
                closeQuietly(s);
            }
            // The host's name and private address are the operator's to read, in the log; the tenant learns the pod's host is unreachable.
            log.warn("cannot reach host {} for streams at {}: {}", t.hostName(), t.address(), e.getMessage());
            throw new ApiException(ErrorKind.UNAVAILABLE, "the host of pod " + t.namespace() + "/" + t.name()
                    + " cannot be reached for streams right now; retry later");
        }
    }

    /** The request as the host will see it: the draft with the target's workload and pod, and the ticket. */
    private static StreamRequest withTicket(HostStreams.Target t, StreamRequest d, String ticket) {
        return new StreamRequest(d.op(), t.workload() == null ? null : t.workload().toString(), ticket, t.namespace(), t.name(),
                d.container(), d.command(), d.stdin(), d.stdout(), d.stderr(), d.tty(), d.follow(), d.tailLines(),
                d.sinceSeconds(), d.sinceTime(), d.timestamps(), d.previous(), d.limitBytes(), d.port(), d.workloads());
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
