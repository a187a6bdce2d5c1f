package gpufleet.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/** A closed-loop load: N threads call one operation as fast as it answers, for a fixed time. */
final class Load {
    interface Call {
        /** Returns true when the answer was the expected one. */
        boolean call(ThreadLocalRandom random) throws Exception;
    }

    record Result(Stats stats, double seconds) {
        double perSecond() {
            return stats.count() / seconds;
        }
    }

    private Load() {}

    static Result run(int threads, double seconds, Call call) throws InterruptedException {
        Stats stats = new Stats();
        long start = System.nanoTime();
        long end = start + (long) (seconds * 1e9);
        List<Thread> workers = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            Thread t = new Thread(() -> {
                ThreadLocalRandom random = ThreadLocalRandom.current();
                while (System.nanoTime() < end) {
                    long t0 = System.nanoTime();
                    boolean ok;
                    try {
                        ok = call.call(random);
                    } catch (Exception e) {
                        ok = false;
                    }
                    if (ok) {
                        stats.add(System.nanoTime() - t0);
                    } else {
                        stats.error();
                    }
                }
            }, "load-" + i);
            t.start();
            workers.add(t);
        }
        for (Thread t : workers) {
            t.join();
        }
        return new Result(stats, (System.nanoTime() - start) / 1e9);
    }
}
