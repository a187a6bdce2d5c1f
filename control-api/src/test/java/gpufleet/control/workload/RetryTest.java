package gpufleet.control.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import gpufleet.control.db.Database;
import java.sql.SQLException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class RetryTest {
    @Test
    void aLostConnectionIsNotRetriedAndStaysADatabaseError() {
        // What the driver throws when PostgreSQL went away mid-request: no SQL state at all.
        AtomicInteger calls = new AtomicInteger();
        assertThatThrownBy(() -> Retry.onConflict(() -> {
            calls.incrementAndGet();
            throw new Database.DatabaseException(new SQLException("This connection has been closed."));
        })).isInstanceOf(Database.DatabaseException.class);
        assertThat(calls).hasValue(1);
    }

    @Test
    void aDeadlockIsRetried() {
        AtomicInteger calls = new AtomicInteger();
        String result = Retry.onConflict(() -> {
            if (calls.incrementAndGet() < 3) {
                throw new Database.DatabaseException(new SQLException("deadlock detected", "40P01"));
            }
            return "done";
        });
        assertThat(result).isEqualTo("done");
        assertThat(calls).hasValue(3);
    }

    @Test
    void aConflictThatOutlastsEveryAttemptReachesTheCallerAfterPausesThatGrowAndStayBounded() {
        AtomicInteger calls = new AtomicInteger();
        assertThatThrownBy(() -> Retry.onConflict(() -> {
            calls.incrementAndGet();
            throw new Database.DatabaseException(new SQLException("deadlock detected", "40P01"));
        })).isInstanceOf(Database.DatabaseException.class);
        assertThat(calls).hasValue(Retry.ATTEMPTS);
        for (int i = 0; i < 100; i++) {
            assertThat(Retry.pauseMicros(1)).isBetween(1_000L, 2_000L);
            assertThat(Retry.pauseMicros(3)).isBetween(4_000L, 8_000L);
            assertThat(Retry.pauseMicros(40)).isBetween(100_000L, 200_000L);
        }
    }
}
