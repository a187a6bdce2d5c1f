package gpufleet.testkit;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;

/**
 * A time limit on every test class, so that a hang costs a CI run minutes, never the whole run.
 *
 * <p>Registered for every class through JUnit's extension autodetection (the build turns it on).
 * When a class runs past its limit, it prints which tests were running and every thread's whole
 * stack, interrupts those tests' threads and fails them. A class that has still not finished a
 * grace period later is stuck beyond interruption (a blocking read, a lost lock): the test JVM is
 * halted, so the build fails with the dump above its error instead of waiting for CI's deadline.
 *
 * <p>Configuration parameters (or system properties): {@value #LIMIT} (default 10 minutes) and
 * {@value #GRACE} (default 1 minute), as ISO-8601 durations such as {@code PT10M}.
 */
public final class ClassTimeLimit
        implements BeforeAllCallback, BeforeEachCallback, AfterEachCallback, AfterAllCallback, TestExecutionExceptionHandler {
    public static final String LIMIT = "gpufleet.test.classTimeLimit";
    public static final String GRACE = "gpufleet.test.classTimeLimitGrace";
    private static final String BEFORE_ALL = "its @BeforeAll";
    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(ClassTimeLimit.class);
    private static final ScheduledExecutorService TIMER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "class-time-limit");
        t.setDaemon(true);
        return t;
    });

    @Override
    public void beforeAll(ExtensionContext context) {
        Duration limit = duration(context, LIMIT, Duration.ofMinutes(10));
        Duration grace = duration(context, GRACE, Duration.ofMinutes(1));
        Watch watch = new Watch(context.getRequiredTestClass().getName(), limit, grace);
        watch.running.put(Thread.currentThread(), BEFORE_ALL);
        context.getStore(NAMESPACE).put(Watch.class, watch);
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        Watch watch = watch(context);
        if (watch != null) {
            watch.running.values().remove(BEFORE_ALL);
            watch.running.put(Thread.currentThread(), context.getDisplayName());
        }
    }

    /** A test that failed because time ran out (most often of the interrupt) fails with the reason first. */
    @Override
    public void handleTestExecutionException(ExtensionContext context, Throwable thrown) throws Throwable {
        Watch watch = watch(context);
        if (watch != null && watch.expired) {
            watch.reported = true;
            throw watch.failure(thrown);
        }
        throw thrown;
    }

    @Override
    public void afterEach(ExtensionContext context) {
        Watch watch = watch(context);
        if (watch != null) {
            watch.running.remove(Thread.currentThread());
            if (watch.expired && context.getExecutionException().isEmpty()) {
                watch.reported = true;
                throw watch.failure(null);
            }
        }
    }

    /** Fails the class itself only when no test carried the failure (time ran out in a class-level method). */
    @Override
    public void afterAll(ExtensionContext context) {
        Watch watch = watch(context);
        if (watch != null) {
            watch.close();
            if (watch.expired && !watch.reported) {
                throw watch.failure(null);
            }
        }
    }

    private static Watch watch(ExtensionContext context) {
        return context.getStore(NAMESPACE).get(Watch.class, Watch.class);
    }

    private static Duration duration(ExtensionContext context, String key, Duration fallback) {
        return context.getConfigurationParameter(key).map(Duration::parse).orElse(fallback);
    }

    /** One class's clock: which thread runs which test, and what happens when time is up. */
    static final class Watch implements ExtensionContext.Store.CloseableResource, AutoCloseable {
        final String className;
        final Duration limit;
        final Map<Thread, String> running = new ConcurrentHashMap<>();
        private final ScheduledFuture<?> expiry;
        private final Duration grace;
        private volatile ScheduledFuture<?> halt;
        private volatile boolean expired;
        private volatile boolean reported;

        Watch(String className, Duration limit, Duration grace) {
            this.className = className;
            this.limit = limit;
            this.grace = grace;
            this.expiry = TIMER.schedule(this::expire, limit.toMillis(), TimeUnit.MILLISECONDS);
        }

        private void expire() {
            expired = true;
            PrintStream err = System.err;
            err.printf("%n[class time limit] %s ran past its limit of %s while running %s; every thread's stack follows%n",
                    className, limit, running.values());
            err.println(threadDump());
            err.flush();
            running.keySet().forEach(Thread::interrupt);
            halt = TIMER.schedule(() -> {
                System.err.printf("[class time limit] %s has not finished %s after its limit: halting the test JVM%n", className, grace);
                System.err.println(threadDump());
                System.err.flush();
                pause(2000); // Surefire forwards a fork's output asynchronously: let the message out first
                Runtime.getRuntime().halt(3);
            }, grace.toMillis(), TimeUnit.MILLISECONDS);
        }

        AssertionError failure(Throwable cause) {
            return new AssertionError(className + " ran past its time limit of " + limit
                    + " (" + LIMIT + "); every thread's stack was printed when it did", cause);
        }

        @Override
        public void close() {
            expiry.cancel(false);
            ScheduledFuture<?> h = halt;
            if (h != null) {
                h.cancel(false);
            }
        }
    }

    private static void pause(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Every live thread's whole stack with the locks it holds and waits on (ThreadInfo's toString stops at 8 frames). */
    static String threadDump() {
        StringBuilder out = new StringBuilder();
        for (ThreadInfo t : ManagementFactory.getThreadMXBean().dumpAllThreads(true, true)) {
            out.append('"').append(t.getThreadName()).append("\" #").append(t.getThreadId())
                    .append(t.isDaemon() ? " daemon " : " ").append(t.getThreadState());
            if (t.getLockName() != null) {
                out.append(" on ").append(t.getLockName());
            }
            if (t.getLockOwnerName() != null) {
                out.append(" owned by \"").append(t.getLockOwnerName()).append('"');
            }
            out.append('\n');
            for (StackTraceElement frame : t.getStackTrace()) {
                out.append("    at ").append(frame).append('\n');
            }
            out.append('\n');
        }
        return out.toString();
    }
}
