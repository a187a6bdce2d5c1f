package gpufleet.control.ops;

import gpufleet.control.db.Database;
import io.javalin.config.RoutesConfig;
import java.util.Map;

/** /healthz: the process answers. /readyz: the database answers and the schema is current. */
public final class HealthRoutes {
    private HealthRoutes() {}

    public static void install(RoutesConfig routes, Database db) {
        routes.get("/healthz", ctx -> ctx.json(Map.of("status", "ok")));
        routes.get("/readyz", ctx -> {
            boolean ready = db.ready();
            ctx.status(ready ? 200 : 503).json(Map.of("status", ready ? "ready" : "not ready",
                    "database", ready ? "reachable, migrations applied" : "unreachable or migrations pending"));
        });
    }
}
