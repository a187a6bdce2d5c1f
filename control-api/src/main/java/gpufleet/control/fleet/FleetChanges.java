package gpufleet.control.fleet;

import gpufleet.control.db.Database;
import gpufleet.control.fleet.Views.GpuState;
import gpufleet.control.fleet.Views.HostRow;
import gpufleet.control.http.ApiException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Hosts whose row or GPUs changed since a cursor (V23's change ids), each with all its GPUs, or
 * every host when there is no usable cursor: what {@link FleetSnapshot} reads each refresh. The
 * cursor is the database's, not a replica's, so a reader may take it from one replica and hand it
 * to another.
 */
public final class FleetChanges {
    /**
     * A cursor older than this gets the whole fleet: after minutes most hosts have reported new
     * telemetry anyway, and the full read is the simpler plan for an old reader.
     */
    static final Duration MAX_CURSOR_AGE = Duration.ofMinutes(5);
    private static final Pattern CURSOR = Pattern.compile("([0-9]{1,19})-([0-9]{1,19})");

    /** A reader's place: the oldest transaction running when it read, and when (database clock). */
    public record Cursor(long xid, long readAtMillis) {
        @Override
        public String toString() {
            return xid + "-" + readAtMillis;
        }

        /** The cursor in {@code raw}, null for none; the name of the parameter goes into the error. */
        public static Cursor parse(String parameter, String raw) {
            if (raw == null || raw.isEmpty()) {
                return null;
            }
            Matcher m = CURSOR.matcher(raw);
            if (!m.matches()) {
                throw ApiException.invalid(parameter, parameter + " must be a cursor from an earlier answer"
                        + " (digits-digits); got '" + (raw.length() > 60 ? raw.substring(0, 60) + "…" : raw) + "'");
            }
            try {
                return new Cursor(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)));
            } catch (NumberFormatException e) {
                throw ApiException.invalid(parameter, parameter + " '" + raw + "' is out of range");
            }
        }
    }

    /** A host as read, and the newest change id among its row and its GPUs' (0 for rows older than V23). */
    public record ChangedHost(HostRow row, long changedXid) {}

    /**
     * What changed: {@code full} when {@code hosts} is the whole fleet rather than a delta.
     * {@code horizon} is the first transaction the read could not see yet (pg_snapshot_xmax): a
     * cursor beyond it was not issued by this database.
     */
    public record Changes(Cursor cursor, long horizon, Instant asOf, boolean full, List<ChangedHost> hosts) {}

    private static final String ROWS = """
            SELECT h.id, h.name, %s AS host_state, g.uuid, g.idx, g.model, %s AS gpu_state, a.tenant, g.health_reason,
                   coalesce(greatest(h.changed_xid, g.changed_xid), '0'::xid8)::text
            FROM hosts h
            LEFT JOIN gpus g ON g.host_id = h.id
            LEFT JOIN gpu_allocations a ON a.gpu_uuid = g.uuid AND a.released_at IS NULL
            """.formatted(FleetQueries.HOST_STATE, FleetQueries.GPU_STATE);
    private static final String CHANGED = ROWS + """
            WHERE h.id IN (SELECT id FROM hosts WHERE changed_xid >= ?::xid8
                           UNION SELECT host_id FROM gpus WHERE changed_xid >= ?::xid8)""";

    private final Database db;

    public FleetChanges(Database db) {
        this.db = db;
    }

    /**
     * The hosts changed since {@code since}, or all of them when {@code since} is null, from the
     * future (another database, or one restored from a backup) or older than {@link #MAX_CURSOR_AGE}.
     */
    public Changes since(Cursor since) {
        return db.tx(c -> {
            try (Statement s = c.createStatement()) {
                // One snapshot for the cursor and the rows, so the cursor covers exactly what was read.
                s.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
                try (ResultSet rs = s.executeQuery("""
                        SELECT pg_snapshot_xmin(pg_current_snapshot())::text, pg_snapshot_xmax(pg_current_snapshot())::text,
                               (extract(epoch FROM now()) * 1000)::bigint""")) {
                    rs.next();
                    long xmin = Long.parseLong(rs.getString(1));
                    long xmax = Long.parseLong(rs.getString(2));
                    long now = rs.getLong(3);
                    Cursor next = new Cursor(xmin, now);
                    boolean full = since == null || since.xid() > xmax
                            || now - since.readAtMillis() > MAX_CURSOR_AGE.toMillis();
                    return new Changes(next, xmax, Instant.ofEpochMilli(now), full, rows(c, full ? null : since));
                }
            }
        });
    }

    private static List<ChangedHost> rows(Connection c, Cursor since) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(since == null ? ROWS : CHANGED)) {
            if (since != null) {
                ps.setString(1, Long.toString(since.xid()));
                ps.setString(2, Long.toString(since.xid()));
            }
            Map<UUID, HostRow> hosts = new LinkedHashMap<>();
            Map<UUID, Long> changed = new HashMap<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    UUID id = rs.getObject(1, UUID.class);
                    HostRow host = hosts.computeIfAbsent(id, k -> row(k, rs));
                    changed.merge(id, Long.parseLong(rs.getString(10)), Math::max);
                    if (rs.getString(4) != null) {
                        // Interned: a replica keeps every host's row in memory (FleetSnapshot), and
                        // these few values would otherwise be a copy per GPU.
                        host.gpus().add(new GpuState(rs.getString(4), rs.getInt(5), intern(rs.getString(6)),
                                rs.getString(7).intern(), intern(rs.getString(8)), rs.getString(9)));
                    }
                }
            }
            List<ChangedHost> out = new ArrayList<>(hosts.size());
            hosts.values().forEach(h -> {
                h.gpus().sort(Comparator.comparingInt(GpuState::index));
                out.add(new ChangedHost(h, changed.get(h.id())));
            });
            return out;
        }
    }

    private static String intern(String s) {
        return s == null ? null : s.intern();
    }

    private static HostRow row(UUID id, ResultSet rs) {
        try {
            return new HostRow(id, rs.getString(2), rs.getString(3).intern(), new ArrayList<>(8));
        } catch (SQLException e) {
            throw new Database.DatabaseException(e);
        }
    }
}
