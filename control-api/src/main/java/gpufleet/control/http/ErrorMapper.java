package gpufleet.control.http;

import gpufleet.common.Invalid;
import gpufleet.common.api.ApiError;
import gpufleet.control.db.Database;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The single place where failures become HTTP answers with the one error shape. */
public final class ErrorMapper {
    private static final Logger log = LoggerFactory.getLogger(ErrorMapper.class);

    /** A database outage fails every request: one line per half minute says so, with how many were not told. */
    private static final Quiet unavailable = new Quiet(30_000_000_000L);

    private ErrorMapper() {}

    /** Lets one line through per {@code periodNanos}; counts the ones held back. */
    static final class Quiet {
        private final long periodNanos;
        private long lastTold = Long.MIN_VALUE;
        private int held;

        Quiet(long periodNanos) {
            this.periodNanos = periodNanos;
        }

        /** -1: hold this one back; else tell it, with the number held back since the last one told. */
        synchronized int tell() {
            long now = System.nanoTime();
            if (lastTold != Long.MIN_VALUE && now - lastTold < periodNanos) {
                held++;
                return -1;
            }
            lastTold = now;
            int n = held;
            held = 0;
            return n;
        }
    }

    public static void install(JavalinConfig config) {
        config.routes.exception(ApiException.class, (e, ctx) -> {
            if (e.kind() == ErrorKind.UNAVAILABLE) {
                // A create that outlasted its answer time (a worker caught on a dead connection in
                // a failover), a host not connected for a stream: every 503 says when to come back.
                ctx.header("Retry-After", RETRY_AFTER_UNAVAILABLE);
            }
            write(ctx, e.kind(), e.getMessage(), e.field());
        });
        config.routes.exception(Invalid.class, (e, ctx) -> write(ctx, ErrorKind.INVALID, e.getMessage(), e.field()));
        config.routes.exception(Database.DatabaseException.class, (e, ctx) -> {
            if (contended(e.sqlState())) {
                // The request was sound and lost a race inside the database after its retries
                // (Retry): nothing was changed, and the same request a moment later succeeds.
                ctx.header("Retry-After", "1");
                write(ctx, ErrorKind.UNAVAILABLE, "the fleet database was busy with requests that changed the same objects at the"
                        + " same moment; nothing was changed, send the same request again", null);
                return;
            }
            ErrorKind kind = kindOf(e.sqlState());
            switch (kind) {
                case UNAVAILABLE -> {
                    int untold = unavailable.tell();
                    if (untold >= 0) {
                        log.warn("{} {} failed: {} ({} more request(s) failed so since the last such line)", ctx.method(), ctx.path(),
                                e.getMessage(), untold);
                    }
                    // A failover takes the database away for seconds: clients come back after a pause.
                    ctx.header("Retry-After", RETRY_AFTER_UNAVAILABLE);
                    write(ctx, kind, unavailableWords(e, ctx.method().toString()), null);
                }
                case CONFLICT -> write(ctx, kind, CONFLICT_WORDS, null);
                case INVALID -> write(ctx, kind, "the request holds a value the fleet cannot store; nothing was changed", null);
                default -> {
                    log.error("{} {} failed", ctx.method(), ctx.path(), e);
                    write(ctx, ErrorKind.INTERNAL, "internal error; it has been logged", null);
                }
            }
        });
        config.routes.exception(HttpResponseException.class, (e, ctx) -> {
            ErrorKind kind = switch (e.getStatus()) {
                case 404 -> ErrorKind.NOT_FOUND;
                case 405 -> ErrorKind.METHOD_NOT_ALLOWED;
                case 413 -> ErrorKind.TOO_LARGE;
                case 401 -> ErrorKind.UNAUTHORIZED;
                case 403 -> ErrorKind.FORBIDDEN;
                default -> e.getStatus() < 500 ? ErrorKind.INVALID : ErrorKind.INTERNAL;
            };
            write(ctx, kind, e.getMessage(), null);
        });
        config.routes.exception(Exception.class, (e, ctx) -> {
            log.error("{} {} failed", ctx.method(), ctx.path(), e);
            write(ctx, ErrorKind.INTERNAL, "internal error; it has been logged", null);
        });
    }

    /**
     * What a failed statement means for the caller, by its SQLSTATE class: the database out of
     * reach or refusing for now (connections, resources, shutdown, I/O), or a concurrent request
     * that won the same rows (a lost serialization race, a deadlock, a lock not granted: see
     * {@link #contended}), is a 503; a clash with an existing row a 409; data PostgreSQL cannot
     * hold a 400; anything else is this program's fault. Handlers check their input first: these
     * are the database's last word, not the usual path.
     */
    static ErrorKind kindOf(String sqlState) {
        if (sqlState == null || sqlState.length() != 5) {
            return ErrorKind.UNAVAILABLE; // no answer from the server: a pool timeout, a broken connection
        }
        return switch (sqlState.substring(0, 2)) {
            case "08", "53", "57", "58" -> ErrorKind.UNAVAILABLE;
            case "40" -> ErrorKind.UNAVAILABLE;
            case "55" -> sqlState.equals("55P03") ? ErrorKind.UNAVAILABLE : ErrorKind.CONFLICT;
            case "23" -> sqlState.equals("23505") || sqlState.equals("23503") || sqlState.equals("23P01")
                    ? ErrorKind.CONFLICT : ErrorKind.INVALID;
            case "22" -> ErrorKind.INVALID;
            // A write on a standby: the pooled connection's server was demoted by a failover (the
            // pool drops that connection; the next request reaches the primary).
            case "25" -> sqlState.equals("25006") ? ErrorKind.UNAVAILABLE : ErrorKind.INTERNAL;
            default -> ErrorKind.INTERNAL;
        };
    }

    /**
     * A race lost inside the database (serialization failure, deadlock, lock not granted): the
     * request itself was sound, so it is not the client's conflict (409) but a moment's refusal
     * (503 with Retry-After), which every client of the API already retries; a tenant-agent or a
     * Kubernetes client told 409 would take the request for wrong.
     */
    static boolean contended(String sqlState) {
        return sqlState != null && (sqlState.startsWith("40") || sqlState.equals("55P03"));
    }

    /** Seconds a client is asked to wait when the database is away (a failover is about 20 s: see docs/operators.md). */
    static final String RETRY_AFTER_UNAVAILABLE = "2";

    /**
     * The words of a 503 when the connection went while the change was being committed: the
     * database may have committed it, so the caller cannot be told either way.
     */
    static final String UNKNOWN_WORDS = "the connection to the fleet database was lost while this change was being committed, so it"
            + " may or may not have been applied; read the object back, or send the same request again (creating the workload"
            + " of a pod UID again answers the one already made)";

    /** What a 503 for the database's absence says: nothing changed, unless a change's commit went unanswered. */
    static String unavailableWords(Database.DatabaseException e, String method) {
        boolean reads = method.equals("GET") || method.equals("HEAD");
        return e.outcomeUnknown() && !reads ? UNKNOWN_WORDS : "the fleet database is unavailable; nothing was changed, retry later";
    }

    /** The words of a 409 from the database: a clash with an existing row. */
    static final String CONFLICT_WORDS = "the request conflicts with an existing object; nothing was changed";

    private static void write(Context ctx, ErrorKind kind, String message, String field) {
        ctx.status(kind.status()).json(new ApiError(kind.wire(), message, field));
    }
}
