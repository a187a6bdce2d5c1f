package gpufleet.host.stream;

import gpufleet.common.Json;
import gpufleet.common.stream.Frames;
import gpufleet.common.stream.StreamRequest;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ExecutorService;

/** One verified stream connection with the control-api: the reply line, then frames both ways. */
public final class Conversation {
    final Socket socket;
    final DataInputStream in;
    private final DataOutputStream out;
    final ExecutorService threads;

    Conversation(Socket socket, DataInputStream in, DataOutputStream out, ExecutorService threads) {
        this.socket = socket;
        this.in = in;
        this.out = out;
        this.threads = threads;
    }

    static void reply(DataOutputStream out, StreamRequest.Reply reply) throws IOException {
        out.write(Json.mapper().writeValueAsBytes(reply));
        out.write('\n');
        out.flush();
    }

    void ok() throws IOException {
        reply(out, StreamRequest.Reply.OK);
    }

    void refuse(int status, String message) throws IOException {
        reply(out, new StreamRequest.Reply(status, message));
    }

    /** Sends data on a channel; blocks while the control-api does not read. */
    synchronized void send(int channel, byte[] data, int offset, int length) throws IOException {
        Frames.write(out, channel, data, offset, length);
        out.flush();
    }

    /**
     * Sends data without flushing: a log is many short lines, and a flush each would be a packet
     * each. {@link #flush} follows whenever the source has nothing more at hand.
     */
    synchronized void queue(int channel, byte[] data, int offset, int length) throws IOException {
        Frames.write(out, channel, data, offset, length);
    }

    synchronized void flush() throws IOException {
        out.flush();
    }

    /** The last frame: the outcome as JSON. */
    synchronized void end(Map<String, ?> outcome) throws IOException {
        byte[] b = Json.mapper().writeValueAsBytes(outcome);
        Frames.write(out, Frames.END, b, 0, b.length);
        out.flush();
    }

    Frames.Frame next() throws IOException {
        return Frames.read(in);
    }

    static String text(byte[] data) {
        return new String(data, StandardCharsets.UTF_8);
    }
}
