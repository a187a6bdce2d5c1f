package gpufleet.control.workload;

import gpufleet.control.db.Database;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Runs a transaction again when PostgreSQL reports a conflict another transaction caused
 * (deadlock, lock timeout, a unique key taken meanwhile). Each attempt starts from fresh data.
 */
final class Retry {
    private static final Set<String> TRANSIENT = Set.of("40P01", "40001", "55P03", "23505");
    private static final int ATTEMPTS = 5;

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
            }
        }
    }
}
