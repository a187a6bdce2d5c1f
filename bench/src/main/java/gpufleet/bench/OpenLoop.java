package gpufleet.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;

/**
 * An open-loop HTTP/1.1 load: request i is due at {@code start + i / rate} whatever the server
 * does, and its latency runs from that intended time to the end of its response, so a server that
 * stalls is charged for every request it held back (no coordinated omission). One thread drives a
 * pool of keep-alive connections through one selector, one request in flight per connection; a
 * request that finds no free connection waits for one and still counts from its intended time.
 * The generator shares the machine with the server, so it spends no thread or allocation per
 * request beyond the request's own bytes.
 */
final class OpenLoop {
    /** One request; {@code headers} may be empty, {@code body} null for none. */
    record Request(String method, String path, Map<String, String> headers, byte[] body) {}

    /** Builds request {@code index} when it is sent; runs on the generator's thread, so it must be quick. */
    interface Source {
        Request request(long index);

        /** Called on the generator's thread with each complete response; for callers that need answers (ids to delete). */
        default void answered(long index, int status, byte[] body) {}
    }

    /** A request sent more than this after its intended time counts as one that could not start on time. */
    static final long LATE_NANOS = TimeUnit.MILLISECONDS.toNanos(5);
    private static final long HIGHEST_NANOS = TimeUnit.SECONDS.toNanos(120);
    private static final long DRAIN_NANOS = TimeUnit.SECONDS.toNanos(10);

    /**
     * {@code byClass[k]} counts responses with status kxx; {@code failed} requests lost with their
     * connection; {@code late} sent over {@link #LATE_NANOS} after their intended time;
     * {@code notStarted} still waiting for a connection at the end; {@code unanswered} in flight
     * when the drain gave up. {@code latency} holds nanoseconds from intended send to response;
     * {@code achievedPerSecond} counts only responses that came before the last intended send time.
     */
    record Result(double seconds, double offeredPerSecond, double achievedPerSecond, Histogram latency, long[] byClass,
                  long failed, long late, long notStarted, long unanswered) {
        double millis(double percentile) {
            return latency.getValueAtPercentile(percentile) / 1e6;
        }

        /** Responses that were not 2xx, plus requests lost with their connection. */
        long errors() {
            return byClass[1] + byClass[3] + byClass[4] + byClass[5] + failed;
        }

        String summary() {
            return String.format("offered %.0f/s achieved %.0f/s  p50 %.2f p90 %.2f p99 %.2f p99.9 %.2f max %.2f ms"
                            + "  2xx %d 4xx %d 5xx %d failed %d  late %d not started %d unanswered %d",
                    offeredPerSecond, achievedPerSecond(), millis(50), millis(90), millis(99), millis(99.9),
                    latency.getMaxValue() / 1e6, byClass[2], byClass[4], byClass[5], failed, late, notStarted, unanswered);
        }
    }

    private final InetSocketAddress address;
    private final String hostHeader;
    private final Source source;
    private final Selector selector;
    private final ArrayDeque<Conn> idle = new ArrayDeque<>();
    private final List<Conn> broken = new ArrayList<>();
    private final Histogram latency = new Histogram(HIGHEST_NANOS, 3);
    private final long[] byClass = new long[6];
    private long failed;
    private long late;
    private long answeredInTime;
    private long stop;
    private int inFlight;

    private OpenLoop(String host, int port, Source source) throws IOException {
        this.address = new InetSocketAddress(host, port);
        this.hostHeader = host + ":" + port;
        this.source = source;
        this.selector = Selector.open();
    }

    /**
     * Sends {@code rate} requests per second to {@code host:port} for {@code seconds} over
     * {@code connections} keep-alive connections, then waits up to 10 s for those in flight.
     */
    static Result run(String host, int port, int connections, double rate, double seconds, Source source) throws IOException {
        OpenLoop loop = new OpenLoop(host, port, source);
        try {
            for (int i = 0; i < connections; i++) {
                loop.open(new Conn());
            }
            return loop.drive(rate, seconds);
        } finally {
            for (SelectionKey k : loop.selector.keys()) {
                k.channel().close();
            }
            loop.selector.close();
        }
    }

    private Result drive(double rate, double seconds) throws IOException {
        long total = (long) Math.ceil(rate * seconds);
        double interval = 1e9 / rate;
        long start = System.nanoTime();
        stop = start + (long) (total * interval);
        long next = 0;
        while (true) {
            long now = System.nanoTime();
            long due = Math.min(total, (long) ((now - start) / interval) + 1);
            while (next < due && !idle.isEmpty()) {
                long intended = start + (long) (next * interval);
                if (now - intended > LATE_NANOS) {
                    late++;
                }
                send(idle.poll(), next, intended);
                next++;
            }
            if (next == total && inFlight == 0) {
                break;
            }
            if (now > stop + DRAIN_NANOS) {
                break;
            }
            reopenBroken(now);
            // Wake for the next intended send, or only for I/O while requests wait for a connection.
            long wait = next < total && next >= due ? start + (long) (next * interval) - now : TimeUnit.MILLISECONDS.toNanos(5);
            if (wait >= TimeUnit.MILLISECONDS.toNanos(1)) {
                selector.select(wait / 1_000_000);
            } else {
                if (wait > 0) {
                    LockSupport.parkNanos(wait);
                }
                selector.selectNow();
            }
            handle(System.nanoTime());
        }
        return new Result(seconds, total / seconds, answeredInTime / seconds, latency, byClass, failed, late, total - next, inFlight);
    }

    private void open(Conn c) throws IOException {
        SocketChannel ch = SocketChannel.open();
        ch.configureBlocking(false);
        ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
        c.channel = ch;
        c.in.clear();
        if (ch.connect(address)) {
            ch.register(selector, SelectionKey.OP_READ, c);
            idle.add(c);
        } else {
            ch.register(selector, SelectionKey.OP_CONNECT, c);
        }
    }

    private void reopenBroken(long now) throws IOException {
        for (Iterator<Conn> it = broken.iterator(); it.hasNext(); ) {
            Conn c = it.next();
            if (now >= c.retryAt) {
                it.remove();
                open(c);
            }
        }
    }

    private void send(Conn c, long index, long intended) throws IOException {
        Request r = source.request(index);
        StringBuilder head = new StringBuilder(160).append(r.method()).append(' ').append(r.path())
                .append(" HTTP/1.1\r\nHost: ").append(hostHeader).append("\r\n");
        r.headers().forEach((k, v) -> head.append(k).append(": ").append(v).append("\r\n"));
        byte[] body = r.body() == null ? new byte[0] : r.body();
        if (body.length > 0 || r.method().equals("POST") || r.method().equals("PUT")) {
            head.append("Content-Length: ").append(body.length).append("\r\n");
        }
        byte[] h = head.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1);
        c.out = ByteBuffer.allocate(h.length + body.length).put(h).put(body).flip();
        c.index = index;
        c.intended = intended;
        inFlight++;
        try {
            c.channel.write(c.out);
            if (c.out.hasRemaining()) {
                c.channel.keyFor(selector).interestOps(SelectionKey.OP_READ | SelectionKey.OP_WRITE);
            }
        } catch (IOException e) {
            fail(c, System.nanoTime());
        }
    }

    private void handle(long now) throws IOException {
        Iterator<SelectionKey> it = selector.selectedKeys().iterator();
        while (it.hasNext()) {
            SelectionKey k = it.next();
            it.remove();
            Conn c = (Conn) k.attachment();
            try {
                if (k.isConnectable()) {
                    c.channel.finishConnect();
                    k.interestOps(SelectionKey.OP_READ);
                    idle.add(c);
                    continue;
                }
                if (k.isWritable()) {
                    c.channel.write(c.out);
                    if (!c.out.hasRemaining()) {
                        k.interestOps(SelectionKey.OP_READ);
                    }
                }
                if (k.isReadable()) {
                    read(c, now);
                }
            } catch (IOException e) {
                fail(c, now);
            }
        }
    }

    private void read(Conn c, long now) throws IOException {
        if (!c.in.hasRemaining()) {
            c.in = ByteBuffer.allocate(c.in.capacity() * 2).put(c.in.flip());
        }
        int n = c.channel.read(c.in);
        Response r = Response.parse(c.in, n < 0);
        if (r == null) {
            if (n < 0) {
                throw new IOException("connection closed before a complete response");
            }
            return;
        }
        if (c.out == null) {
            throw new IOException("a response nobody asked for");
        }
        inFlight--;
        c.out = null;
        latency.recordValue(Math.min(HIGHEST_NANOS, Math.max(0, now - c.intended)));
        if (now <= stop) {
            answeredInTime++;
        }
        byClass[Math.min(5, r.status / 100)]++;
        source.answered(c.index, r.status, r.body);
        c.in.clear();
        if (r.close || n < 0) {
            c.channel.close();
            open(c);
        } else {
            idle.add(c);
        }
    }

    private void fail(Conn c, long now) {
        if (c.out != null) {
            failed++;
            inFlight--;
            c.out = null;
        }
        idle.remove(c);
        try {
            c.channel.close();
        } catch (IOException e) {
            // Reopened below in any case.
        }
        c.retryAt = now + TimeUnit.MILLISECONDS.toNanos(50);
        broken.add(c);
    }

    private static final class Conn {
        SocketChannel channel;
        ByteBuffer in = ByteBuffer.allocate(16 * 1024);
        ByteBuffer out;
        long index;
        long intended;
        long retryAt;
    }

    /** A complete response parsed from a connection's buffer (which holds bytes from position 0). */
    private record Response(int status, byte[] body, boolean close) {
        static Response parse(ByteBuffer buf, boolean eof) {
            byte[] a = buf.array();
            int len = buf.position();
            int headEnd = indexOf(a, 0, len, "\r\n\r\n");
            if (headEnd < 0) {
                return null;
            }
            String head = new String(a, 0, headEnd, StandardCharsets.ISO_8859_1);
            int status = Integer.parseInt(head.substring(9, 12));
            long length = -1;
            boolean chunked = false;
            boolean close = false;
            for (String line : head.split("\r\n")) {
                int colon = line.indexOf(':');
                if (colon < 0) {
                    continue;
                }
                String name = line.substring(0, colon).trim();
                String value = line.substring(colon + 1).trim();
                if (name.equalsIgnoreCase("Content-Length")) {
                    length = Long.parseLong(value);
                } else if (name.equalsIgnoreCase("Transfer-Encoding")) {
                    chunked = value.equalsIgnoreCase("chunked");
                } else if (name.equalsIgnoreCase("Connection")) {
                    close = value.equalsIgnoreCase("close");
                }
            }
            int bodyStart = headEnd + 4;
            if (status == 204 || status == 304 || status / 100 == 1) {
                return new Response(status, new byte[0], close);
            }
            if (chunked) {
                byte[] body = dechunk(a, bodyStart, len);
                return body == null ? null : new Response(status, body, close);
            }
            if (length >= 0) {
                return len - bodyStart >= length ? new Response(status, copy(a, bodyStart, (int) length), close) : null;
            }
            // No length: the body runs to the end of the connection.
            return eof ? new Response(status, copy(a, bodyStart, len - bodyStart), true) : null;
        }

        /** The body of a complete chunked message, or null while bytes are missing. */
        private static byte[] dechunk(byte[] a, int from, int len) {
            ByteBuffer body = ByteBuffer.allocate(Math.max(0, len - from));
            int p = from;
            while (true) {
                int eol = indexOf(a, p, len, "\r\n");
                if (eol < 0) {
                    return null;
                }
                String size = new String(a, p, eol - p, StandardCharsets.ISO_8859_1);
                int semi = size.indexOf(';');
                int n = Integer.parseInt((semi < 0 ? size : size.substring(0, semi)).trim(), 16);
                p = eol + 2;
                if (n == 0) {
                    // No trailers are expected; the message ends with an empty line.
                    return indexOf(a, p, len, "\r\n") < 0 ? null : copy(body.array(), 0, body.position());
                }
                if (len - p < n + 2) {
                    return null;
                }
                body.put(a, p, n);
                p += n + 2;
            }
        }

        private static int indexOf(byte[] a, int from, int to, String s) {
            outer:
            for (int i = from; i <= to - s.length(); i++) {
                for (int j = 0; j < s.length(); j++) {
                    if (a[i + j] != s.charAt(j)) {
                        continue outer;
                    }
                }
                return i;
            }
            return -1;
        }

        private static byte[] copy(byte[] a, int from, int n) {
            byte[] b = new byte[n];
            System.arraycopy(a, from, b, 0, n);
            return b;
        }
    }
}
