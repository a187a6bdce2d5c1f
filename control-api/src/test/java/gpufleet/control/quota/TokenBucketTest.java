package gpufleet.control.quota;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The bucket behind the tenant request rate, driven by a clock the test moves. */
class TokenBucketTest {
    private static final long SECOND = 1_000_000_000L;

    @Test
    void aBurstPassesThenTheNextRequestIsToldHowLongToWait() {
        TokenBucket b = new TokenBucket(2, 5, 0);
        for (int i = 0; i < 5; i++) {
            assertThat(b.take(0)).as("request %d of the burst", i + 1).isZero();
        }
        assertThat(b.take(0)).as("past the burst at 2/s: one token in half a second, rounded up").isEqualTo(1);
    }

    @Test
    void tokensComeBackAtTheRateAndNeverAboveTheBurst() {
        TokenBucket b = new TokenBucket(0.1, 2, 0);
        assertThat(b.take(0)).isZero();
        assertThat(b.take(0)).isZero();
        assertThat(b.take(0)).as("one token every 10 s").isEqualTo(10);
        assertThat(b.take(5 * SECOND)).as("half a token after 5 s").isEqualTo(5);
        assertThat(b.take(10 * SECOND)).as("a whole token after 10 s").isZero();
        assertThat(b.full(1000 * SECOND)).isTrue();
        assertThat(b.take(1000 * SECOND)).isZero();
        assertThat(b.take(1000 * SECOND)).isZero();
        assertThat(b.take(1000 * SECOND)).as("a long idle time refills to the burst, not beyond").isPositive();
    }
}
