package gpufleet.control.usage;

import gpufleet.control.db.Database;
import gpufleet.control.http.ApiException;
import gpufleet.control.http.ErrorKind;
import gpufleet.control.usage.UsageRequest.Dimension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * GPU-seconds from the usage intervals (V27), exact to the microsecond: each interval clipped to
 * [from, to), an open one counted up to the database's now (or {@code to}, if earlier), and, when
 * grouped by day, cut at UTC midnights.
 */
public final class UsageQueries {
    /** More groups than this is a question to ask in parts, not one answer held in memory. */
    static final int MAX_GROUPS = 100_000;

    /**
     * %1$s: the clipped span(s) of an interval; %2$s: the tenant filter; %3$s: the group columns;
     * %4$s: grouping and order (none without groups: one row, the total).
     * The intervals' WHERE clause is the shape usage_intervals_tenant_end and usage_intervals_end
     * serve: intervals that end after from (open ones at infinity), filtered by their start. It is
     * a CTE of its own (MATERIALIZED) so that the order of the groups cannot steer the scan: a
     * query grouped by tenant over every tenant otherwise walked all of usage_intervals_tenant_end,
     * every tenant's whole history, for the tenant order it gives. The bound "<= infinity" holds
     * for every row; it is there for the planner, which takes a lower and an upper bound on one
     * column for a narrow range, but a lower bound alone, whose value a generic plan does not
     * know, for a third of the table: enough to scan all of it, a year, for a day's question.
     */
    private static final String SQL = """
            WITH clock AS (SELECT usage_clock() AS now),
            spans AS MATERIALIZED (
                SELECT u.tenant, u.offering, u.gpu_model, x.*
                FROM clock, usage_intervals u
                CROSS JOIN LATERAL (%1$s) x
                WHERE coalesce(u.ended_at, 'infinity') > ? AND coalesce(u.ended_at, 'infinity') <= 'infinity'
                  AND u.started_at < ? %2$s AND x.until > x.since)
            SELECT %3$s round(sum(extract(epoch FROM u.until - u.since)), 3)
            FROM spans u
            %4$s
            LIMIT ?""";
    /** An interval's part inside [from, to). */
    private static final String WHOLE = """
            SELECT greatest(u.started_at, ?) AS since, least(coalesce(u.ended_at, clock.now), ?) AS until""";
    /** An interval's parts inside [from, to), one per UTC day it touches. */
    private static final String BY_DAY = """
            SELECT d::date AS day, greatest(u.started_at, ?, d AT TIME ZONE 'UTC') AS since,
                   least(coalesce(u.ended_at, clock.now), ?, (d + interval '1 day') AT TIME ZONE 'UTC') AS until
            FROM generate_series(date_trunc('day', greatest(u.started_at, ?) AT TIME ZONE 'UTC'),
                                 least(coalesce(u.ended_at, clock.now), ?) AT TIME ZONE 'UTC', interval '1 day') d""";

    private final Database db;

    public UsageQueries(Database db) {
        this.db = db;
    }

    /** One group: its values by dimension (in the request's order) and its GPU-seconds. */
    public record Group(Map<String, String> keys, double gpuSeconds) {}

    public List<Group> usage(UsageRequest r) {
        return db.read(c -> {
            if (r.tenant() != null) {
                requireTenant(c, r.tenant());
            }
            return query(c, r);
        });
    }

    static String sql(List<Dimension> groupBy, boolean oneTenant) {
        List<String> columns = new ArrayList<>();
        for (Dimension d : groupBy) {
            columns.add(column(d));
        }
        String groups = String.join(", ", columns);
        return SQL.formatted(groupBy.contains(Dimension.DAY) ? BY_DAY : WHOLE, oneTenant ? "AND u.tenant = ?" : "",
                columns.isEmpty() ? "" : groups + ",", columns.isEmpty() ? "" : "GROUP BY " + groups + " ORDER BY " + groups);
    }

    private static String column(Dimension d) {
        switch (d) {
            case TENANT:
                return "u.tenant";
            case OFFERING:
                return "u.offering";
            case MODEL:
                return "u.gpu_model";
            default:
                return "u.day::text";
        }
    }

    private static List<Group> query(Connection c, UsageRequest r) throws SQLException {
        boolean byDay = r.groupBy().contains(Dimension.DAY);
        List<Group> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(sql(r.groupBy(), r.tenant() != null))) {
            int i = 1;
            ps.setObject(i++, r.from());
            ps.setObject(i++, r.to());
            if (byDay) {
                ps.setObject(i++, r.from());
                ps.setObject(i++, r.to());
            }
            ps.setObject(i++, r.from());
            ps.setObject(i++, r.to());
            if (r.tenant() != null) {
                ps.setString(i++, r.tenant());
            }
            ps.setInt(i, MAX_GROUPS + 1);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Map<String, String> keys = new LinkedHashMap<>();
                    for (int k = 0; k < r.groupBy().size(); k++) {
                        keys.put(r.groupBy().get(k).wire(), rs.getString(k + 1));
                    }
                    out.add(new Group(keys, rs.getDouble(r.groupBy().size() + 1)));
                }
            }
        }
        if (out.size() > MAX_GROUPS) {
            throw ApiException.invalid("groupBy", "more than " + MAX_GROUPS + " groups; ask for a shorter range or fewer groups");
        }
        return out;
    }

    private static void requireTenant(Connection c, String tenant) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM tenants WHERE name = ?")) {
            ps.setString(1, tenant);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new ApiException(ErrorKind.NOT_FOUND, "tenant " + tenant + " not found", "tenant");
                }
            }
        }
    }
}
