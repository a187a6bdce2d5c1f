package gpufleet.tenant.kubelet;

import io.netty.channel.Channel;
import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one connection's calls into the backend in arrival order on the shared pool, away from the
 * event loop. While more than {@link #HIGH_WATER} bytes of client input wait for a slow backend,
 * the connection stops reading (TCP pushes back to the client) until it falls under {@link #LOW_WATER}.
 */
final class InputPump {
    static final long HIGH_WATER = 1 << 20;
    static final long LOW_WATER = 256 << 10;
    private static final Logger log = LoggerFactory.getLogger(InputPump.class);

    /** A backend call; failures end the call's work item, never the pump. */
    interface Step {
        void run() throws Exception;
    }

    private record Item(long bytes, Step step) {}

    private final Executor pool;
    private final Channel channel;
    private final ArrayDeque<Item> queue = new ArrayDeque<>();
    private boolean running;
    private long pending;

    InputPump(Executor pool, Channel channel) {
        this.pool = pool;
        this.channel = channel;
    }

    /** Queues {@code step}; {@code bytes} is how much client input it carries. */
    void submit(long bytes, Step step) {
        boolean start;
        synchronized (this) {
            queue.add(new Item(bytes, step));
            pending += bytes;
            if (pending > HIGH_WATER) {
                channel.config().setAutoRead(false);
            }
            start = !running;
            running = true;
        }
        if (start) {
            pool.execute(this::drain);
        }
    }

    private void drain() {
        while (true) {
            Item item;
            synchronized (this) {
                item = queue.poll();
                if (item == null) {
                    running = false;
                    return;
                }
            }
            try {
                item.step().run();
            } catch (Exception e) {
                log.debug("kubelet stream input step failed: {}", e.toString());
            }
            synchronized (this) {
                boolean wasFull = pending > LOW_WATER;
                pending -= item.bytes();
                if (wasFull && pending <= LOW_WATER && channel.isActive()) {
                    channel.config().setAutoRead(true);
                }
            }
        }
    }
}
