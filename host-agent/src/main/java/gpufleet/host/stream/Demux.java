package gpufleet.host.stream;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;

/**
 * Docker's stream formats: a container without a TTY multiplexes stdout and stderr in frames
 * (8-byte header: stream type, three zero bytes, big-endian length); with a TTY the stream is raw.
 */
final class Demux {
    private Demux() {}

    interface Sink {
        /** Data from stream 1 (stdout) or 2 (stderr); false to stop reading. */
        boolean accept(int stream, byte[] b, int off, int len) throws IOException;

        /** The next read would wait: pass on what was accepted so far. */
        default void drained() throws IOException {}
    }

    static void pump(InputStream in, boolean raw, Sink sink) throws IOException {
        byte[] buf = new byte[32 * 1024];
        if (raw) {
            for (int n = in.read(buf); n >= 0; n = in.read(buf)) {
                if (!sink.accept(1, buf, 0, n)) {
                    return;
                }
                if (in.available() == 0) {
                    sink.drained();
                }
            }
            return;
        }
        byte[] header = new byte[8];
        while (true) {
            if (in.available() == 0) {
                sink.drained();
            }
            if (!readFully(in, header, 8)) {
                return;
            }
            int stream = header[0] == 2 ? 2 : 1;
            long left = ((header[4] & 0xffL) << 24) | ((header[5] & 0xff) << 16) | ((header[6] & 0xff) << 8) | (header[7] & 0xff);
            while (left > 0) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                if (n < 0) {
                    throw new EOFException("Docker's stream ended inside a frame");
                }
                left -= n;
                if (!sink.accept(stream, buf, 0, n)) {
                    return;
                }
            }
        }
    }

    /** False at a clean end before the first byte. */
    private static boolean readFully(InputStream in, byte[] b, int len) throws IOException {
        int got = 0;
        while (got < len) {
            int n = in.read(b, got, len - got);
            if (n < 0) {
                if (got == 0) {
                    return false;
                }
                throw new EOFException("Docker's stream ended inside a frame header");
            }
            got += n;
        }
        return true;
    }
}
