package gpufleet.host.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Loop supervision alone: restarted in place, fatal on an Error, stale when a round overruns its deadline. */
class LoopsTest {
    final Map<String, Throwable> died = new ConcurrentHashMap<>();
    final Loops loops = new Loops(died::put, Loops.Faults.NONE);

    @AfterEach
    void stop() {
        loops.close();
    }

    /** A loop whose rounds take {@code pause} each, as long as the loops run. */
    private Runnable rounds(Duration pause, Runnable each) {
        return () -> {
            while (loops.turn()) {
                each.run();
                try {
                    Thread.sleep(pause.toMillis());
                } catch (InterruptedException e) {
                    return;
                }
            }
        };
    }

    @Test
    void aLoopThatThrowsIsStartedAgainInPlaceAndGoesOnWithItsRounds() {
        AtomicInteger calls = new AtomicInteger();
        loops.spawn("flaky", Duration.ofMinutes(1), rounds(Duration.ofMillis(20), () -> {
            if (calls.incrementAndGet() == 3) {
                throw new IllegalStateException("a bug in round 3");
            }
        }));
        await("the flaky loop, started again, finishes rounds").atMost(Duration.ofSeconds(30)).until(() -> loops.health("flaky").rounds() >= 5);
        assertThat(loops.health("flaky").restarts()).as("started again once").isEqualTo(1);
        assertThat(died).isEmpty();
        assertThat(loops.stale()).isEmpty();
    }

    @Test
    void aLoopThatDiesOfAnErrorIsFatalAndStaysStale() {
        loops.spawn("heap", Duration.ofMinutes(1), rounds(Duration.ofMillis(20), () -> {
            throw new OutOfMemoryError("Java heap space (injected)");
        }));
        await("the OutOfMemoryError handed to Fatal").atMost(Duration.ofSeconds(30)).until(() -> died.containsKey("heap"));
        assertThat(died.get("heap")).isInstanceOf(OutOfMemoryError.class).hasMessageContaining("injected");
        assertThat(loops.health("heap").restarts()).as("an Error is not retried in place").isZero();
        await("the dead loop reported stale").atMost(Duration.ofSeconds(30)).until(() -> loops.stale().equals(List.of("heap")));
    }

    @Test
    void aRoundThatOverrunsItsDeadlineMakesTheLoopStaleUntilItFinishes() throws Exception {
        java.util.concurrent.CountDownLatch stuck = new java.util.concurrent.CountDownLatch(1);
        AtomicInteger calls = new AtomicInteger();
        loops.spawn("steady", Duration.ofSeconds(2), rounds(Duration.ofMillis(20), () -> { }));
        loops.spawn("hangs", Duration.ofSeconds(2), rounds(Duration.ofMillis(20), () -> {
            if (calls.incrementAndGet() == 3) {
                try {
                    stuck.await(); // a call that does not return, as a hung daemon's
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }));
        await("the hung loop, and only it, reported stale").atMost(Duration.ofSeconds(30)).until(() -> loops.stale().equals(List.of("hangs")));
        long before = loops.health("hangs").rounds();
        stuck.countDown();
        await("no loop stale once the round finished").atMost(Duration.ofSeconds(30)).until(() -> loops.stale().isEmpty());
        assertThat(loops.health("hangs").rounds()).isGreaterThan(before);
        assertThat(loops.health("steady").restarts() + loops.health("hangs").restarts()).isZero();
    }
}
