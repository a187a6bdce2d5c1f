package gpufleet.control.inventory;

import gpufleet.common.Json;
import gpufleet.common.api.GpuReport;
import gpufleet.common.api.HostCondition;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;

/**
 * A host's GPUs are believed only as far as an operator approved them. The approved inventory is
 * the host's rows in {@code gpus} (UUID and model): the first report that lists GPUs sets it, an
 * operator's approval extends it. A reported GPU outside it (a new UUID, or a known one under
 * another model) is held in {@code held_gpus}, where placement never looks, and the host carries
 * the condition {@value #CONDITION}=False naming the change. A GPU that disappears or fails only
 * becomes unavailable, even when it fails so badly that its model no longer reads: shrinking
 * needs no approval.
 */
final class InventoryApproval {
    static final String CONDITION = "InventoryApproved";

    private InventoryApproval() {}

    /** A reported GPU that is not placed onto until approved; {@code approvedModel} is set for a model change. */
    record Held(GpuReport gpu, String approvedModel) {
        String change() {
            return approvedModel == null ? "added" : "model";
        }

        String describe() {
            return approvedModel == null ? gpu.uuid() + " (" + gpu.name() + ")"
                    : gpu.uuid() + " reported as " + gpu.name() + ", approved as " + approvedModel;
        }
    }

    /** A report split into the GPUs the fleet may use and those it holds. */
    record Split(List<GpuReport> approved, List<Held> held) {}

    /**
     * Splits {@code reported} against {@code approvedModels} (UUID → approved model). With
     * nothing approved yet, everything reported is approved: this is the host's first inventory.
     */
    static Split split(Map<String, String> approvedModels, List<GpuReport> reported) {
        if (approvedModels.isEmpty()) {
            return new Split(reported, List.of());
        }
        List<GpuReport> approved = new ArrayList<>();
        List<Held> held = new ArrayList<>();
        for (GpuReport g : reported) {
            String model = approvedModels.get(g.uuid());
            if (model == null) {
                held.add(new Held(g, null));
            } else if (!model.equals(g.name()) && g.healthy()) {
                held.add(new Held(g, model));
            } else if (!model.equals(g.name())) {
                // A failed GPU's model may read as "unknown" (NVML cannot reach it). It is not placed
                // onto anyway, so it stays what it was approved as, unhealthy with the host's reason.
                approved.add(withModel(g, model));
            } else {
                approved.add(g);
            }
        }
        return new Split(approved, held);
    }

    private static GpuReport withModel(GpuReport g, String model) {
        return new GpuReport(g.uuid(), g.index(), model, g.memoryTotalBytes(), g.memoryUsedBytes(), g.pciBusId(), g.numaNode(),
                g.migEnabled(), g.healthy(), g.healthReason(), g.utilizationGpu(), g.utilizationMemory(), g.temperatureC(),
                g.powerMilliwatts(), g.topology());
    }

    /** UUID → approved model of every GPU approved on the host. */
    static Map<String, String> approvedModels(Connection c, UUID hostId) throws SQLException {
        Map<String, String> out = new HashMap<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT uuid, model FROM gpus WHERE host_id = ?")) {
            ps.setObject(1, hostId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getString(1), rs.getString(2));
                }
            }
        }
        return out;
    }

    /** The condition a host shows: True with the approved counts, or False naming what is held. */
    static HostCondition condition(String hostName, Map<String, String> approvedModels, List<Held> held) {
        if (held.isEmpty()) {
            return new HostCondition(CONDITION, "True", "Approved", "approved: " + perModel(approvedModels.values()));
        }
        List<String> added = new ArrayList<>();
        List<String> changed = new ArrayList<>();
        for (Held h : held) {
            (h.approvedModel() == null ? added : changed).add(h.describe());
        }
        StringBuilder m = new StringBuilder("held, never placed onto, until an operator approves (gpuctl approve host ")
                .append(hostName).append("): ");
        if (!added.isEmpty()) {
            m.append(added.size()).append(" GPU(s) beyond the approved ").append(perModel(approvedModels.values()))
                    .append(": ").append(firstFew(added));
        }
        if (!changed.isEmpty()) {
            m.append(added.isEmpty() ? "" : "; ").append(changed.size()).append(" GPU(s) with another model: ")
                    .append(firstFew(changed));
        }
        String reason = added.isEmpty() ? "ModelChanged" : changed.isEmpty() ? "GpusAdded" : "GpusAddedAndModelChanged";
        String text = m.length() > 1000 ? m.substring(0, 997) + "..." : m.toString();
        return new HostCondition(CONDITION, "False", reason, text);
    }

    /** The host's reported conditions with ours in place of any the host sent under our name. */
    static List<HostCondition> withCondition(List<HostCondition> reported, HostCondition ours) {
        List<HostCondition> out = new ArrayList<>();
        for (HostCondition h : reported) {
            if (!h.type().equals(CONDITION)) {
                out.add(h);
            }
        }
        out.add(ours);
        return out;
    }

    /**
     * Replaces the host's held GPUs with {@code held}, keeps a model-changed GPU's approved row out
     * of placement, and records an event when what is held changes.
     */
    static void hold(Connection c, UUID hostId, String hostName, List<Held> held) throws SQLException {
        Set<String> before = new TreeSet<>();
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM held_gpus WHERE host_id = ? RETURNING uuid, model")) {
            ps.setObject(1, hostId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    before.add(rs.getString(1) + " " + rs.getString(2));
                }
            }
        }
        Set<String> now = new TreeSet<>();
        try (PreparedStatement ins = c.prepareStatement(
                "INSERT INTO held_gpus (host_id, uuid, model, change, report) VALUES (?, ?, ?, ?, ?::jsonb)");
             PreparedStatement off = c.prepareStatement("""
                     UPDATE gpus SET healthy = false, health_reason = ? WHERE uuid = ? AND host_id = ?""")) {
            for (Held h : held) {
                now.add(h.gpu().uuid() + " " + h.gpu().name());
                ins.setObject(1, hostId);
                ins.setString(2, h.gpu().uuid());
                ins.setString(3, h.gpu().name());
                ins.setString(4, h.change());
                ins.setString(5, Json.mapper().writeValueAsString(h.gpu()));
                ins.addBatch();
                if (h.approvedModel() != null) {
                    off.setString(1, "reported as " + h.gpu().name() + " but approved as " + h.approvedModel()
                            + ": held until an operator approves host " + hostName);
                    off.setString(2, h.gpu().uuid());
                    off.setObject(3, hostId);
                    off.addBatch();
                }
            }
            ins.executeBatch();
            off.executeBatch();
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        if (!held.isEmpty() && !now.equals(before)) {
            List<String> what = new ArrayList<>();
            held.forEach(h -> what.add(h.describe()));
            Events.host(c, hostId, "Warning", "InventoryHeld", "host " + hostName + " reports GPUs it is not approved for,"
                    + " held until an operator approves: " + firstFew(what));
        }
    }

    /** The held GPUs of a host, as the host last reported them, deleted: the caller approves them. */
    static List<Held> takeHeld(Connection c, UUID hostId) throws SQLException {
        List<Held> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("""
                DELETE FROM held_gpus h WHERE host_id = ?
                RETURNING h.report::text, (SELECT g.model FROM gpus g WHERE g.uuid = h.uuid AND g.host_id = h.host_id)""")) {
            ps.setObject(1, hostId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    GpuReport g = Json.mapper().readValue(rs.getString(1), GpuReport.class);
                    out.add(new Held(g, rs.getString(2)));
                }
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("a held GPU's stored report is unreadable: " + e.getMessage(), e);
        }
        return out;
    }

    static String perModel(Iterable<String> models) {
        Map<String, Integer> counts = new TreeMap<>();
        models.forEach(m -> counts.merge(m, 1, Integer::sum));
        if (counts.isEmpty()) {
            return "no GPUs";
        }
        List<String> parts = new ArrayList<>();
        counts.forEach((m, n) -> parts.add(n + " x " + m));
        return String.join(", ", parts);
    }

    private static String firstFew(List<String> items) {
        int shown = Math.min(items.size(), 4);
        String listed = String.join(", ", items.subList(0, shown));
        return items.size() > shown ? listed + " and " + (items.size() - shown) + " more" : listed;
    }
}
