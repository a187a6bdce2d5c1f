package gpufleet.control.workload;

import gpufleet.control.db.Database;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

/**
 * Runs a transaction again when PostgreSQL reports a conflict another transaction caused
 * (deadlock, lock timeout, a unique key taken meanwhile). Each attempt starts from fresh data,
 * after a pause drawn at random up to a bound that doubles each time: two transactions that
 * deadlocked, tried again at once, meet again at the same rows. Past the last attempt the error
 * goes to the caller, whom ErrorMapper answers 503 with Retry-After.
 */
final class Retry {
    private static final Set<String> TRANSIENT = Set.of("40P01", "40001", "55P03", "23505");
    static final int ATTEMPTS = 8;
    private static final long FIRST_BOUND_MICROS = 2_000;
    private static final long MAX_BOUND_MICROS = 200_000;

    private Retry() {}

    static <T> T onConflict(Supplier<T> tx) {
        for (int attempt = 1; ; attempt++) {
            try {
                return tx.get();
            } catch (Database.DatabaseException e) {
                // A lost connection has no SQL state: it is the outage's 503, not a conflict to retry
                // (Set.of's contains(null) threw, and the caller got a 500).
                if (attempt >= ATTEMPTS || e.sqlState() == null || !TRANSIENT.contains(e.sqlState())) {
                    throw e;
                }
                LockSupport.parkNanos(pauseMicros(attempt) * 1_000);
            }
        }
    }

    /** The pause before attempt {@code attempt + 1}: uniform below a bound of 2 ms, 4 ms, ... up to 200 ms. */
    static long pauseMicros(int attempt) {
        long bound = Math.min(MAX_BOUND_MICROS, FIRST_BOUND_MICROS << Math.min(attempt - 1, 20));
        return ThreadLocalRandom.current().nextLong(bound / 2, bound + 1);
    }
}
