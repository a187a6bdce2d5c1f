package gpufleet.host.stream;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.common.Json;
import gpufleet.common.stream.Frames;
import java.io.BufferedInputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * The Docker Engine API spoken directly over its socket, for what needs a raw stream: logs
 * followed without buffering, and exec/attach hijacked connections with a real half close (stdin
 * EOF). Each call opens its own connection; reads and writes go straight to the channel, so one
 * thread may read while another writes.
 */
final class DockerSocket {
    private final String dockerHost;

    DockerSocket(String dockerHost) {
        this.dockerHost = dockerHost;
    }

    /** An HTTP response whose body (or, after 101, the raw stream) is {@link #body}. */
    static final class Response implements Closeable {
        final int status;
        final InputStream body;
        final OutputStream out;
        private final SocketChannel channel;

        private Response(int status, InputStream body, OutputStream out, SocketChannel channel) {
            this.status = status;
            this.body = body;
            this.out = out;
            this.channel = channel;
        }

        /** Half close: the engine sees EOF on the hijacked stdin. */
        void closeWrite() throws IOException {
            channel.shutdownOutput();
        }

        /** The body as text (for errors and small JSON answers). */
        String text() throws IOException {
            return new String(body.readAllBytes(), StandardCharsets.UTF_8);
        }

        /** The engine's error message from a JSON error body, or the body itself. */
        String message() throws IOException {
            String text = text().trim();
            try {
                JsonNode n = Json.mapper().readTree(text);
                return n.hasNonNull("message") ? n.get("message").asText() : text;
            } catch (IOException e) {
                return text;
            }
        }

        @Override
        public void close() {
            try {
                channel.close();
            } catch (IOException e) {
                // Already gone.
            }
        }
    }

    Response request(String method, String path, Object jsonBody, boolean upgrade) throws IOException {
        SocketChannel ch = open();
        try {
            byte[] body = jsonBody == null ? new byte[0] : Json.mapper().writeValueAsBytes(jsonBody);
            StringBuilder head = new StringBuilder(method).append(' ').append(path).append(" HTTP/1.1\r\nHost: docker\r\n");
            if (upgrade) {
                head.append("Connection: Upgrade\r\nUpgrade: tcp\r\n");
            }
            if (jsonBody != null || method.equals("POST")) {
                head.append("Content-Type: application/json\r\nContent-Length: ").append(body.length).append("\r\n");
            }
            head.append("\r\n");
            OutputStream out = new ChannelOutput(ch);
            out.write(head.toString().getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            InputStream in = new BufferedInputStream(new ChannelInput(ch), 16 * 1024);
            String status = Frames.line(in, 16 * 1024);
            String[] parts = status.split(" ", 3);
            if (parts.length < 2 || !parts[0].startsWith("HTTP/")) {
                throw new IOException("Docker answered '" + status + "' to " + method + " " + path);
            }
            int code = Integer.parseInt(parts[1]);
            long length = -1;
            boolean chunked = false;
            for (String h = Frames.line(in, 16 * 1024); !h.isEmpty(); h = Frames.line(in, 16 * 1024)) {
                String lower = h.toLowerCase(Locale.ROOT);
                if (lower.startsWith("content-length:")) {
                    length = Long.parseLong(h.substring(15).trim());
                } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
                    chunked = true;
                }
            }
            InputStream bodyIn = code == 101 ? in : chunked ? new ChunkedInput(in) : length >= 0 ? new Limited(in, length) : in;
            return new Response(code, bodyIn, out, ch);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** A small JSON call; an error status becomes a {@link DockerError} with the engine's message. */
    JsonNode json(String method, String path, Object body) throws IOException {
        try (Response r = request(method, path, body, false)) {
            if (r.status >= 300) {
                throw new DockerError(r.status, r.message());
            }
            String text = r.text();
            return text.isBlank() ? Json.mapper().nullNode() : Json.mapper().readTree(text);
        }
    }

    static final class DockerError extends IOException {
        final int status;

        DockerError(int status, String message) {
            super(message);
            this.status = status;
        }
    }

    private SocketChannel open() throws IOException {
        URI uri = URI.create(dockerHost);
        if ("unix".equals(uri.getScheme())) {
            SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            ch.connect(UnixDomainSocketAddress.of(uri.getPath()));
            return ch;
        }
        if ("tcp".equals(uri.getScheme())) {
            return SocketChannel.open(new InetSocketAddress(uri.getHost(), uri.getPort()));
        }
        throw new IOException("streams need a unix:// or tcp:// Docker host, not " + dockerHost);
    }

    /** An input stream that reads in blocks; a single byte is a block of one. */
    private abstract static class BulkInput extends InputStream {
        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }
    }

    /** Reads the channel directly (Channels.newInputStream would share a lock with writes). */
    private static final class ChannelInput extends BulkInput {
        private final SocketChannel ch;

        ChannelInput(SocketChannel ch) {
            this.ch = ch;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            return len == 0 ? 0 : ch.read(ByteBuffer.wrap(b, off, len));
        }
    }

    private static final class ChannelOutput extends OutputStream {
        private final SocketChannel ch;

        ChannelOutput(SocketChannel ch) {
            this.ch = ch;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            ByteBuffer buf = ByteBuffer.wrap(b, off, len);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
        }
    }

    private static final class Limited extends BulkInput {
        private final InputStream in;
        private long left;

        Limited(InputStream in, long left) {
            this.in = in;
            this.left = left;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (left <= 0) {
                return -1;
            }
            int n = in.read(b, off, (int) Math.min(len, left));
            if (n > 0) {
                left -= n;
            }
            return n;
        }
    }

    /** HTTP/1.1 chunked transfer decoding. */
    private static final class ChunkedInput extends BulkInput {
        private final InputStream in;
        private long left;
        private boolean done;

        ChunkedInput(InputStream in) {
            this.in = in;
        }

        /**
         * Whether reading would wait: what has arrived of this chunk, or, between chunks, 1 when the
         * next one has begun to arrive. A hint for flushing, as InputStream allows.
         */
        @Override
        public int available() throws IOException {
            if (done) {
                return 0;
            }
            return left > 0 ? (int) Math.min(left, in.available()) : Math.min(1, in.available());
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (done) {
                return -1;
            }
            if (left == 0) {
                String size = Frames.line(in, 16 * 1024);
                int semi = size.indexOf(';');
                left = Long.parseLong((semi < 0 ? size : size.substring(0, semi)).trim(), 16);
                if (left == 0) {
                    done = true;
                    return -1;
                }
            }
            int n = in.read(b, off, (int) Math.min(len, left));
            if (n < 0) {
                throw new IOException("Docker closed the connection in the middle of a chunk");
            }
            left -= n;
            if (left == 0) {
                Frames.line(in, 16 * 1024);
            }
            return n;
        }
    }
}
