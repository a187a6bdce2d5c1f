package gpufleet.gpuctl.command;

import static gpufleet.gpuctl.output.Column.number;
import static gpufleet.gpuctl.output.Column.of;
import static gpufleet.gpuctl.output.Column.text;
import static gpufleet.gpuctl.output.Column.time;
import static gpufleet.gpuctl.output.Column.wide;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.gpuctl.output.Column;
import gpufleet.gpuctl.output.Measure;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** The table columns of each kind gpuctl lists; -o wide adds the wide ones. */
final class Columns {
    private Columns() {}

    static final List<Column> HOSTS = List.of(
            of("NAME", h -> text(h, "name")),
            of("STATUS", h -> text(h, "state")),
            of("GPUS", h -> number(h.path("gpus"), "total")),
            of("FREE", h -> number(h.path("gpus"), "free")),
            of("ALLOCATED", h -> number(h.path("gpus"), "allocated")),
            of("UNHEALTHY", h -> number(h.path("gpus"), "unhealthy")),
            of("HEARTBEAT", h -> time(h, "lastHeartbeat")),
            wide("ID", h -> text(h, "id")),
            wide("CPU", h -> text(h.path("resources"), "allocatableCpu")),
            wide("MEMORY", h -> text(h.path("resources"), "allocatableMemory")),
            wide("DRIVER", h -> text(h, "driverVersion")),
            wide("CUDA", h -> text(h, "cudaVersion")));

    static final List<Column> GPUS = List.of(
            of("UUID", g -> text(g, "uuid")),
            of("HOST", g -> text(g, "host")),
            of("INDEX", g -> number(g, "index")),
            of("MODEL", g -> text(g, "model")),
            of("STATE", g -> text(g, "state")),
            of("TENANT", g -> text(g, "tenant")),
            wide("MEMORY", Columns::memory),
            wide("UTIL", g -> Listings.percent(g, "utilizationGpu")),
            wide("TEMP", g -> g.path("temperatureC").isNumber() ? Measure.of(g.path("temperatureC").asLong(), "C") : null),
            wide("POWER", Columns::power),
            wide("NUMA", g -> number(g, "numaNode")),
            wide("PCI-BUS", g -> text(g, "pciBusId")),
            wide("REASON", g -> text(g, "healthReason")));

    static final List<Column> TENANTS = List.of(
            of("NAME", t -> text(t, "name")),
            of("STATUS", t -> t.path("disabled").asBoolean() ? "Disabled" : "Enabled"),
            of("OFFERINGS", t -> joined(t.path("offerings"))),
            of("AGE", t -> time(t, "createdAt")));

    static final List<Column> OFFERINGS = List.of(
            of("NAME", o -> text(o, "name")),
            of("GPU-MODEL", o -> text(o, "gpuModel")),
            of("GPUS", o -> number(o, "gpuCount")),
            of("CPU", o -> text(o, "cpu")),
            of("MEMORY", o -> text(o, "memory")));

    static final List<Column> WORKLOADS = List.of(
            of("ID", w -> text(w, "id")),
            of("TENANT", w -> text(w, "tenant")),
            of("POD", w -> w.path("namespace").asText() + "/" + w.path("name").asText()),
            of("STATUS", Columns::status),
            of("HOST", w -> text(w, "host")),
            of("GPUS", w -> (long) w.path("gpus").size()),
            of("AGE", w -> time(w, "createdAt")),
            wide("OFFERING", w -> text(w, "offering")),
            wide("POD-UID", w -> text(w, "podUid")),
            wide("GPU-UUIDS", w -> joined(w.path("gpus"))),
            wide("MESSAGE", w -> text(w, "message")));

    static final List<Column> ROUTES = List.of(
            of("HOSTNAME", r -> text(r, "hostname")),
            of("TENANT", r -> text(r, "tenant")),
            of("SERVICE", r -> r.path("namespace").asText() + "/" + r.path("name").asText()),
            of("PORT", r -> number(r, "port")),
            of("READY", r -> r.path("readyTargets").asInt() + "/" + r.path("targets").size()),
            of("AGE", r -> time(r, "updatedAt")),
            wide("SERVICE-UID", r -> text(r, "serviceUid")));

    static final List<Column> TOKENS = List.of(
            of("ID", t -> text(t, "id")),
            of("ROLE", t -> text(t, "role")),
            of("TENANT", t -> text(t, "tenant")),
            of("DESCRIPTION", t -> text(t, "description")),
            of("STATUS", Columns::tokenStatus),
            of("AGE", t -> time(t, "createdAt")),
            wide("HOST-ID", t -> text(t, "hostId")),
            wide("EXPIRES", t -> text(t, "expiresAt")),
            wide("USED", t -> t.has("uses") ? t.path("used").asInt() + "/" + t.path("uses").asInt() : "<none>"),
            wide("HOSTS", Columns::joinHosts));

    static final List<Column> EVENTS = List.of(
            of("LAST-SEEN", e -> time(e, "at")),
            of("TYPE", e -> text(e, "type")),
            of("REASON", e -> text(e, "reason")),
            of("OBJECT", e -> e.path("kind").asText() + "/" + e.path("object").asText()),
            of("MESSAGE", e -> text(e, "message")));

    /** The pod status kubectl would show: the reason when there is one (Evicted, Unschedulable), else the phase. */
    static String status(JsonNode w) {
        String phase = w.path("phase").asText();
        String reason = w.path("reason").asText(null);
        if (w.path("deletionRequested").asBoolean() && !phase.equals("deleted") && reason == null) {
            return "Terminating";
        }
        if (reason != null && (phase.equals("failed") || phase.equals("pending"))) {
            return reason;
        }
        return phase.isEmpty() ? "Unknown" : Character.toUpperCase(phase.charAt(0)) + phase.substring(1);
    }

    static Object memory(JsonNode g) {
        long total = g.path("memoryTotalBytes").asLong();
        JsonNode used = g.path("memoryUsedBytes");
        return used.isNumber() ? new Measure(used.asLong(), Listings.gib(used.asLong()) + "/" + Listings.gib(total))
                : Listings.gib(total);
    }

    static Object power(JsonNode g) {
        JsonNode mw = g.path("powerMilliwatts");
        return mw.isNumber() ? new Measure(mw.asLong(), mw.asLong() / 1000 + "W") : null;
    }

    /** The host names a join token may register; any, when it names none. */
    private static String joinHosts(JsonNode t) {
        if (!t.has("uses")) {
            return "<none>";
        }
        List<String> names = new ArrayList<>();
        t.path("hosts").forEach(h -> names.add(h.asText()));
        return names.isEmpty() ? "<any>" : String.join(",", names);
    }

    private static String tokenStatus(JsonNode t) {
        if (!t.path("revokedAt").isMissingNode() && !t.path("revokedAt").isNull()) {
            return "Revoked";
        }
        if (t.has("uses") && t.path("used").asInt() >= t.path("uses").asInt()) {
            return "UsedUp";
        }
        JsonNode expires = t.path("expiresAt");
        if (expires.isTextual() && Instant.parse(expires.asText()).isBefore(Instant.now())) {
            return "Expired";
        }
        return "Active";
    }

    static String joined(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out.isEmpty() ? null : String.join(",", out);
    }
}
