package gpufleet.control.usage;

import gpufleet.control.auth.Access;
import gpufleet.control.auth.Principal;
import gpufleet.control.auth.Role;
import gpufleet.control.http.ApiException;
import gpufleet.control.http.ErrorKind;
import gpufleet.control.http.Params;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code GET /v1/usage}: GPU-seconds and GPU-hours per group, what a provider bills from.
 * Operators read every tenant (or one, with ?tenant=); a tenant's token reads its own tenant only.
 */
public final class UsageRoutes {
    private final UsageQueries queries;

    public UsageRoutes(UsageQueries queries) {
        this.queries = queries;
    }

    public void install(RoutesConfig routes) {
        routes.get("/v1/usage", this::usage);
    }

    private void usage(Context ctx) {
        Params.only(ctx, Set.of("from", "to", "groupBy", "tenant"));
        String tenant = scope(Access.principal(ctx), ctx.queryParam("tenant"));
        UsageRequest r = UsageRequest.parse(ctx.queryParam("from"), ctx.queryParam("to"), ctx.queryParam("groupBy"), tenant);
        List<Map<String, Object>> groups = new ArrayList<>();
        double total = 0;
        for (UsageQueries.Group g : queries.usage(r)) {
            Map<String, Object> row = new LinkedHashMap<>(g.keys());
            row.put("gpuSeconds", g.gpuSeconds());
            row.put("gpuHours", hours(g.gpuSeconds()));
            groups.add(row);
            total += g.gpuSeconds();
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("from", r.from().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        body.put("to", r.to().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        body.put("tenant", r.tenant());
        body.put("groupBy", r.groupBy().stream().map(UsageRequest.Dimension::wire).toList());
        body.put("groups", groups);
        body.put("totalGpuSeconds", Math.round(total * 1000) / 1000.0);
        body.put("totalGpuHours", hours(total));
        ctx.json(body);
    }

    /**
     * The tenant the answer is limited to: a tenant token's own (asking for another is refused,
     * never quietly answered with its own), the operator's choice (null: all), nobody else's.
     */
    static String scope(Principal p, String asked) {
        if (p.role() == Role.OPERATOR) {
            return asked;
        }
        if (p.role() != Role.TENANT) {
            throw new ApiException(ErrorKind.FORBIDDEN, "GET /v1/usage needs an operator or tenant token; this is a "
                    + p.role().wire() + " token");
        }
        if (asked != null && !asked.equals(p.tenant())) {
            throw new ApiException(ErrorKind.FORBIDDEN, "this token belongs to tenant " + p.tenant()
                    + " and cannot read the usage of tenant " + asked);
        }
        return p.tenant();
    }

    private static double hours(double seconds) {
        return Math.round(seconds / 3600 * 1_000_000) / 1_000_000.0;
    }
}
