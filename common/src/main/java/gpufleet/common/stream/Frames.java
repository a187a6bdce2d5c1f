package gpufleet.common.stream;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * The framing of a stream between the control-api and a host-agent (over TCP: channel byte,
 * 4-byte length, payload) and between the tenant-agent and the control-api (one WebSocket
 * binary message per frame: channel byte, payload). The channels follow the kubelet's:
 * stdin 0, stdout 1, stderr 2; {@link #END} carries the outcome as JSON and is always last.
 * A port-forward sends its data up on {@link #STDIN} and down on {@link #STDOUT}.
 */
public final class Frames {
    public static final int STDIN = 0;
    public static final int STDOUT = 1;
    public static final int STDERR = 2;
    /** Last frame, server to client: {"exitCode":n} or {"status":n,"message":"…"}. */
    public static final int END = 3;
    /** Client to server: {"width":w,"height":h}. */
    public static final int RESIZE = 4;
    /** Client to server, empty: no more stdin (half close). */
    public static final int STDIN_EOF = 5;
    /** Server to client, empty: the stream is open on the host; output follows. */
    public static final int READY = 6;

    /** Largest payload of one frame; bigger writes are split. Fits WebSocket's default message limit. */
    public static final int MAX_PAYLOAD = 32 * 1024;

    private Frames() {}

    public record Frame(int channel, byte[] data) {
        public String text() {
            return new String(data, StandardCharsets.UTF_8);
        }
    }

    /** Writes {@code length} bytes as one or more frames on {@code channel}; not flushed. */
    public static void write(DataOutputStream out, int channel, byte[] data, int offset, int length) throws IOException {
        do {
            int n = Math.min(length, MAX_PAYLOAD);
            out.writeByte(channel);
            out.writeInt(n);
            out.write(data, offset, n);
            offset += n;
            length -= n;
        } while (length > 0);
    }

    public static void write(DataOutputStream out, int channel, String text) throws IOException {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        write(out, channel, b, 0, b.length);
    }

    /**
     * One line (the request and reply lines before the frames, HTTP heads), without its CR LF or LF.
     * Reads byte by byte: whatever follows the line stays in {@code in}.
     */
    public static String line(java.io.InputStream in, int max) throws IOException {
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        for (int c = in.read(); c != '\n'; c = in.read()) {
            if (c < 0) {
                throw new EOFException("the connection closed in the middle of a line");
            }
            if (b.size() >= max) {
                throw new IOException("a line longer than " + max + " bytes");
            }
            b.write(c);
        }
        String line = b.toString(StandardCharsets.UTF_8);
        return line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
    }

    /** The next frame, or null at a clean end of stream between frames. */
    public static Frame read(DataInputStream in) throws IOException {
        int channel = in.read();
        if (channel < 0) {
            return null;
        }
        int length = in.readInt();
        if (length < 0 || length > MAX_PAYLOAD) {
            throw new IOException("stream frame of " + length + " bytes is larger than " + MAX_PAYLOAD);
        }
        byte[] data = new byte[length];
        try {
            in.readFully(data);
        } catch (EOFException e) {
            throw new IOException("stream ended inside a frame", e);
        }
        return new Frame(channel, data);
    }
}
