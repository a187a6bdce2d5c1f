package gpufleet.tenant.e2e;

import gpufleet.tenant.kubelet.KubeletBackend;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** A stream's output gathered for assertions, with its end. */
final class Collected implements KubeletBackend.StreamSink {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private final CompletableFuture<Integer> end = new CompletableFuture<>();
    KubeletBackend.StreamSession session;

    interface Input {
        void send(KubeletBackend.StreamSession s) throws Exception;
    }

    static Collected exec(KubeletBackend b, KubeletBackend.PodRef pod, List<String> cmd, KubeletBackend.StreamOptions o, Input input)
            throws Exception {
        Collected c = new Collected();
        c.session = b.exec(pod, "main", cmd, o, c);
        if (input != null) {
            input.send(c.session);
        }
        return c;
    }

    static Collected attach(KubeletBackend b, KubeletBackend.PodRef pod, KubeletBackend.StreamOptions o) throws Exception {
        Collected c = new Collected();
        c.session = b.attach(pod, "main", o, c);
        return c;
    }

    @Override
    public synchronized void stdout(byte[] data, int offset, int length) {
        out.write(data, offset, length);
    }

    @Override
    public synchronized void stderr(byte[] data, int offset, int length) {
        err.write(data, offset, length);
    }

    @Override
    public void closed(Integer exitCode, String failure) {
        if (failure != null) {
            end.completeExceptionally(new AssertionError("stream failed: " + failure));
        } else {
            end.complete(exitCode);
        }
    }

    int await() throws Exception {
        return end.get(20, TimeUnit.SECONDS);
    }

    synchronized String stdout() {
        return out.toString(StandardCharsets.UTF_8);
    }

    synchronized String stderr() {
        return err.toString(StandardCharsets.UTF_8);
    }
}
