package gpufleet.control.usage;

import gpufleet.common.Names;
import gpufleet.control.http.ApiException;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What {@code GET /v1/usage} asks, checked: the half-open range [from, to) in RFC 3339, the
 * groups, and the tenant (null: every tenant, operators only).
 */
public record UsageRequest(OffsetDateTime from, OffsetDateTime to, List<Dimension> groupBy, String tenant) {
    /**
     * The longest range one request may cover. 400 days holds the default retention (13 months,
     * at most 397 days) in one request, so a provider can read everything it keeps at once,
     * while bounding what one call can make the database walk.
     */
    static final Duration MAX_RANGE = Duration.ofDays(400);

    /** What usage can be grouped by, as the query parameter names it. */
    public enum Dimension {
        TENANT("tenant"), OFFERING("offering"), MODEL("model"), DAY("day");

        private final String wire;

        Dimension(String wire) {
            this.wire = wire;
        }

        public String wire() {
            return wire;
        }

        static Dimension parse(String text) {
            for (Dimension d : values()) {
                if (d.wire.equals(text)) {
                    return d;
                }
            }
            throw ApiException.invalid("groupBy", "groupBy '" + text + "' is not one of tenant, offering, model, day");
        }
    }

    /** Parses the raw query values; any problem is a 400 naming the parameter and why. */
    public static UsageRequest parse(String from, String to, String groupBy, String tenant) {
        OffsetDateTime f = time("from", from);
        OffsetDateTime t = time("to", to);
        if (!t.isAfter(f)) {
            throw ApiException.invalid("to", "to (" + to + ") must be after from (" + from + ")");
        }
        if (Duration.between(f, t).compareTo(MAX_RANGE) > 0) {
            throw ApiException.invalid("to", "the range from " + from + " to " + to + " is longer than "
                    + MAX_RANGE.toDays() + " days; ask in several requests");
        }
        return new UsageRequest(f, t, dimensions(groupBy), tenant == null ? null : Names.label(tenant, "tenant", 40));
    }

    private static OffsetDateTime time(String name, String raw) {
        if (raw == null || raw.isBlank()) {
            throw ApiException.invalid(name, name + " is required (RFC 3339, e.g. 2026-11-01T00:00:00Z)");
        }
        try {
            return OffsetDateTime.parse(raw.trim().toUpperCase(Locale.ROOT));
        } catch (DateTimeParseException e) {
            throw ApiException.invalid(name, name + " '" + raw + "' is not an RFC 3339 time (e.g. 2026-11-01T00:00:00Z)");
        }
    }

    private static List<Dimension> dimensions(String raw) {
        List<Dimension> out = new ArrayList<>();
        if (raw == null || raw.isBlank()) {
            return out;
        }
        for (String part : raw.split(",", -1)) {
            Dimension d = Dimension.parse(part.trim());
            if (out.contains(d)) {
                throw ApiException.invalid("groupBy", "groupBy names " + d.wire() + " twice");
            }
            out.add(d);
        }
        return out;
    }
}
