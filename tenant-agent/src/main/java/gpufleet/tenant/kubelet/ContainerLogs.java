package gpufleet.tenant.kubelet;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.IOException;
import java.io.OutputStream;
import java.util.List;
import java.util.Map;

/**
 * /containerLogs: the backend writes the log into a chunked response as it reads it. Nothing is
 * buffered whole: each write waits until the client took the previous ones ({@link ChannelWriter}).
 * The response head goes out with the first byte, so a failure before it is still a proper error.
 */
final class ContainerLogs {
    private ContainerLogs() {}

    /** The kubelet's log query parameters; a malformed number is a 400. */
    static KubeletBackend.LogOptions options(Map<String, List<String>> query) {
        return new KubeletBackend.LogOptions(flag(query, "follow"), number(query, "tailLines"), number(query, "sinceSeconds"),
                first(query, "sinceTime"), flag(query, "timestamps"), flag(query, "previous"), number(query, "limitBytes"));
    }

    /** A chunked text/plain body whose head is written with the first chunk. */
    static final class Body extends OutputStream {
        private final ChannelWriter writer;
        private boolean started;

        Body(ChannelWriter writer) {
            this.writer = writer;
        }

        boolean started() {
            return started;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return;
            }
            start();
            writer.write(new DefaultHttpContent(Unpooled.copiedBuffer(b, off, len)));
        }

        /** Ends the body (an empty log is an empty 200). */
        void end() throws IOException {
            start();
            writer.write(LastHttpContent.EMPTY_LAST_CONTENT);
        }

        private void start() throws IOException {
            if (!started) {
                started = true;
                HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
                head.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
                head.headers().set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
                writer.write(head);
            }
        }
    }

    private static boolean flag(Map<String, List<String>> query, String name) {
        String v = first(query, name);
        return v != null && (v.equalsIgnoreCase("true") || v.equals("1"));
    }

    private static Long number(Map<String, List<String>> query, String name) {
        String v = first(query, name);
        if (v == null || v.isEmpty()) {
            return null;
        }
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new KubeletException(400, "invalid value for " + name + ": '" + v + "' is not an integer");
        }
    }

    static String first(Map<String, List<String>> query, String name) {
        List<String> v = query.get(name);
        return v == null || v.isEmpty() ? null : v.get(0);
    }
}
