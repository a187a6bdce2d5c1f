package gpufleet.control.http;

import io.javalin.http.Context;
import java.util.Set;

/** Query parameters, checked: a bad one is a 400 that names it, never silently ignored. */
public final class Params {
    private Params() {}

    public static int limit(Context ctx, int defaultLimit, int max) {
        String raw = ctx.queryParam("limit");
        if (raw == null) {
            return defaultLimit;
        }
        try {
            int n = Integer.parseInt(raw);
            if (n < 1 || n > max) {
                throw ApiException.invalid("limit", "limit must be 1.." + max + ", got " + n);
            }
            return n;
        } catch (NumberFormatException e) {
            throw ApiException.invalid("limit", "limit '" + raw + "' is not a whole number");
        }
    }

    public static String oneOf(Context ctx, String name, Set<String> allowed) {
        String raw = ctx.queryParam(name);
        if (raw != null && !allowed.contains(raw)) {
            throw ApiException.invalid(name, name + " must be one of " + String.join(", ", allowed.stream().sorted().toList())
                    + "; got '" + raw + "'");
        }
        return raw;
    }

    /** Refuses query parameters the endpoint does not know (a typo must not widen a query). */
    public static void only(Context ctx, Set<String> known) {
        for (String name : ctx.queryParamMap().keySet()) {
            if (!name.isEmpty() && !known.contains(name)) {
                throw ApiException.invalid(name, "unknown query parameter '" + name + "'; this endpoint takes "
                        + (known.isEmpty() ? "none" : String.join(", ", known.stream().sorted().toList())));
            }
        }
    }
}
