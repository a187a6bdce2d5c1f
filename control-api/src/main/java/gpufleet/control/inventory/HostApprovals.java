package gpufleet.control.inventory;

import gpufleet.common.IpLiterals;
import gpufleet.common.Json;
import gpufleet.common.api.GpuReport;
import gpufleet.common.api.HostCondition;
import gpufleet.control.db.Database;
import gpufleet.control.http.ApiException;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** The operator's word on what a host is: its approved GPUs and its registered address. */
public final class HostApprovals {
    private final Database db;

    public HostApprovals(Database db) {
        this.db = db;
    }

    /** What an approval took in: each held GPU as "uuid (model)" and the approved total per model. */
    public record Approved(UUID hostId, String name, List<String> approved, String inventory) {}

    /**
     * Approves every GPU held on the host, as the host last reported it: each is written into the
     * approved inventory (placeable from this commit, if healthy) and the host's condition turns
     * True. Recorded as an event naming the operator's token. Nothing held: nothing changes.
     */
    public Approved approve(UUID hostId, UUID operatorTokenId) {
        return db.tx(c -> {
            String name = HostStore.hostName(c, hostId);
            List<HostCondition> conditions = lockConditions(c, hostId);
            List<InventoryApproval.Held> held = InventoryApproval.takeHeld(c, hostId);
            List<String> taken = new ArrayList<>();
            if (held.isEmpty()) {
                return new Approved(hostId, name, taken, InventoryApproval.perModel(
                        InventoryApproval.approvedModels(c, hostId).values()));
            }
            List<GpuReport> gpus = new ArrayList<>();
            for (InventoryApproval.Held h : held) {
                gpus.add(h.gpu());
                taken.add(h.describe());
            }
            HostStore.upsertGpus(c, hostId, gpus);
            Map<String, String> approvedModels = InventoryApproval.approvedModels(c, hostId);
            if (conditions != null) {
                HostStore.storeConditions(c, hostId, InventoryApproval.withCondition(conditions,
                        InventoryApproval.condition(name, approvedModels, List.of())));
            }
            String inventory = InventoryApproval.perModel(approvedModels.values());
            Events.host(c, hostId, "Normal", "InventoryApproved", "operator token " + operatorTokenId + " approved "
                    + taken.size() + " GPU(s) on host " + name + ": " + String.join(", ", taken) + "; approved now: " + inventory);
            return new Approved(hostId, name, taken, inventory);
        });
    }

    /** The host's stored conditions, its inventory row locked against a concurrent report; null if it never reported. */
    private static List<HostCondition> lockConditions(Connection c, UUID hostId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT conditions::text FROM host_inventory WHERE host_id = ? FOR UPDATE")) {
            ps.setObject(1, hostId);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                return List.of(Json.mapper().readValue(rs.getString(1), HostCondition[].class));
            }
        } catch (IOException e) {
            throw new IllegalStateException("stored conditions are unreadable: " + e.getMessage(), e);
        }
    }

    /** The host's address as the operator sets it; endpoints stored earlier on the old address are not revisited. */
    public record AddressChange(UUID hostId, String name, String address, String previous) {}

    /** Sets the host's registered address (an IP literal), recorded as an event. */
    public AddressChange setAddress(UUID hostId, String address, UUID operatorTokenId) {
        String canonical = IpLiterals.canonical(address);
        if (canonical == null) {
            throw ApiException.invalid("address", "address '" + address + "' is not an IP address (a name is not accepted)");
        }
        return db.tx(c -> {
            String name = HostStore.hostName(c, hostId);
            String previous;
            try (PreparedStatement ps = c.prepareStatement("""
                    UPDATE hosts h SET address = ? FROM hosts o WHERE h.id = ? AND o.id = h.id RETURNING o.address""")) {
                ps.setString(1, canonical);
                ps.setObject(2, hostId);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    previous = rs.getString(1);
                }
            }
            if (!canonical.equals(previous)) {
                Events.host(c, hostId, "Normal", "AddressChanged", "operator token " + operatorTokenId + " set host " + name
                        + "'s registered address to " + canonical + " (was " + (previous == null ? "none" : previous) + ")");
            }
            return new AddressChange(hostId, name, canonical, previous);
        });
    }
}
