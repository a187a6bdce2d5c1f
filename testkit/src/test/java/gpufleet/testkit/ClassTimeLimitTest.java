package gpufleet.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

class ClassTimeLimitTest {

    @Test
    void aClassThatHangsPastItsLimitFailsNamingTheTestWithEveryThreadsStack() {
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        TestExecutionSummary summary;
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            summary = run(Hangs.class);
        } finally {
            System.setErr(err);
        }
        String printed = captured.toString(StandardCharsets.UTF_8);

        assertThat(summary.getTotalFailureCount()).isEqualTo(1);
        Throwable failure = summary.getFailures().get(0).getException();
        assertThat(failure).hasMessageContaining(Hangs.class.getName() + " ran past its time limit of PT1S");
        assertThat(printed).contains("[class time limit] " + Hangs.class.getName() + " ran past its limit of PT1S while running [waitsForever()]")
                .contains(Hangs.class.getName() + ".waitsForever(");
    }

    @Test
    void aClassWithinItsLimitPasses() {
        TestExecutionSummary summary = run(Quick.class);
        assertThat(summary.getTestsSucceededCount()).isEqualTo(1);
        assertThat(summary.getTotalFailureCount()).isZero();
    }

    private static TestExecutionSummary run(Class<?> testClass) {
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                .selectors(selectClass(testClass))
                .configurationParameter("junit.jupiter.extensions.autodetection.enabled", "true")
                .configurationParameter(ClassTimeLimit.LIMIT, "PT1S")
                .configurationParameter(ClassTimeLimit.GRACE, "PT30S")
                .build();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        launcher.execute(request, listener);
        return listener.getSummary();
    }

    /** Run only through {@link #run}: nested classes are not discovered on their own. */
    static class Hangs {
        @Test
        void waitsForever() throws InterruptedException {
            new CountDownLatch(1).await();
        }
    }

    static class Quick {
        @Test
        void returns() {
            assertThat(1 + 1).isEqualTo(2);
        }
    }
}
