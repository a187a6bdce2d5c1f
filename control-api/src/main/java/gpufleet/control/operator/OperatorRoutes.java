package gpufleet.control.operator;

import gpufleet.control.auth.Access;
import gpufleet.control.db.Database;
import gpufleet.control.fleet.FleetQueries;
import gpufleet.control.http.ApiException;
import gpufleet.control.http.Params;
import gpufleet.control.inventory.HostStore;
import gpufleet.control.operator.OperatorQueries.EventFilter;
import gpufleet.control.operator.OperatorQueries.WorkloadFilter;
import gpufleet.control.workload.Wakeups;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/** What gpuctl needs beyond the fleet routes: workloads across tenants, single GPUs, history, drain. */
public final class OperatorRoutes {
    private static final Set<String> PHASES = Set.of("pending", "placed", "running", "succeeded", "failed", "deleted");
    private static final int HISTORY = 50;

    private final OperatorQueries queries;
    private final FleetQueries fleet;
    private final HostStore hosts;
    private final Drain drain;

    public OperatorRoutes(Database db, HostStore hosts, Wakeups wakeups) {
        this.fleet = new FleetQueries(db);
        this.queries = new OperatorQueries(db, fleet);
        this.hosts = hosts;
        this.drain = new Drain(db, wakeups);
    }

    public void install(RoutesConfig routes) {
        routes.get("/v1/workloads", this::listWorkloads);
        routes.get("/v1/workloads/{id}", ctx -> {
            Access.operator(ctx);
            UUID id = uuid(ctx.pathParam("id"), "id", "workload id");
            ctx.json(new OperatorViews.WorkloadDetail(queries.workload(id),
                    queries.events(new EventFilter(null, null, id), HISTORY)));
        });
        routes.get("/v1/gpus/{uuid}", ctx -> {
            Access.operator(ctx);
            ctx.json(queries.gpu(ctx.pathParam("uuid"), HISTORY));
        });
        routes.get("/v1/events", this::events);
        routes.post("/v1/hosts/{host}/drain", ctx -> {
            Access.operator(ctx);
            UUID id = hosts.resolve(ctx.pathParam("host"));
            Drain.Result r = drain.drain(id);
            ctx.json(new OperatorViews.Drained(fleet.host(id), r.evicted(), r.remaining()));
        });
    }

    private void listWorkloads(Context ctx) {
        Access.operator(ctx);
        Params.only(ctx, Set.of("tenant", "host", "phase", "deleted", "limit", "continue"));
        String host = ctx.queryParam("host");
        String deleted = Params.oneOf(ctx, "deleted", Set.of("true", "false"));
        WorkloadFilter f = new WorkloadFilter(ctx.queryParam("tenant"), host == null ? null : hosts.resolve(host),
                Params.oneOf(ctx, "phase", PHASES), "true".equals(deleted));
        ctx.json(queries.workloads(f, uuid(ctx.queryParam("continue"), "continue", "continue"), Params.limit(ctx, 500, 5000)));
    }

    private void events(Context ctx) {
        Access.operator(ctx);
        Params.only(ctx, Set.of("host", "gpu", "workload", "limit"));
        String host = ctx.queryParam("host");
        long given = Set.of("host", "gpu", "workload").stream().filter(p -> ctx.queryParam(p) != null).count();
        if (given > 1) {
            throw ApiException.invalid("host", "give at most one of host, gpu and workload");
        }
        EventFilter f = new EventFilter(host == null ? null : hosts.resolve(host), ctx.queryParam("gpu"),
                uuid(ctx.queryParam("workload"), "workload", "workload id"));
        ctx.json(Map.of("items", queries.events(f, Params.limit(ctx, HISTORY, 1000))));
    }

    /** A UUID the caller gave (null stays null); anything else is a 400 naming the field. */
    private static UUID uuid(String raw, String field, String what) {
        if (raw == null) {
            return null;
        }
        UUID id = HostStore.parseUuid(raw);
        if (id == null) {
            throw ApiException.invalid(field, what + " '" + raw + "' is not a UUID");
        }
        return id;
    }
}
