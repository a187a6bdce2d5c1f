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

    private ErrorMapper() {}

    public static void install(JavalinConfig config) {
        config.routes.exception(ApiException.class, (e, ctx) -> write(ctx, e.kind(), e.getMessage(), e.field()));
        config.routes.exception(Invalid.class, (e, ctx) -> write(ctx, ErrorKind.INVALID, e.getMessage(), e.field()));
        config.routes.exception(Database.DatabaseException.class, (e, ctx) -> {
            log.warn("{} {} failed: {}", ctx.method(), ctx.path(), e.getMessage());
            write(ctx, ErrorKind.UNAVAILABLE, "the fleet database is unavailable; nothing was changed, retry later", null);
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

    private static void write(Context ctx, ErrorKind kind, String message, String field) {
        ctx.status(kind.status()).json(new ApiError(kind.wire(), message, field));
    }
}
