package gpufleet.control.inventory;

import gpufleet.common.IpLiterals;
import gpufleet.common.Json;
import gpufleet.common.api.GpuReport;
import gpufleet.common.api.HostCondition;
import gpufleet.common.api.InventoryReport;
import gpufleet.common.api.RegisteredHost;
import gpufleet.common.api.ReportResult;
import gpufleet.control.auth.Role;
import gpufleet.control.auth.TokenStore;
import gpufleet.control.db.Database;
import gpufleet.control.http.ApiException;
import gpufleet.control.http.ErrorKind;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** Registration and inventory reports: how hosts enter and describe themselves. */
public final class HostStore {
    private final Database db;
    private final TokenStore tokens;

    private final HostApprovals approvals;

    public HostStore(Database db, TokenStore tokens) {
        this.db = db;
        this.tokens = tokens;
        this.approvals = new HostApprovals(db);
    }

    /** The operator's approvals of this store's hosts (their GPUs and addresses). */
    public HostApprovals approvals() {
        return approvals;
    }

    public record Registered(RegisteredHost host, boolean created) {}

    /**
     * Registers a host by name with one use of the join token {@code joinTokenId}. A new name
     * gets a new host. A known name is taken over (same id, fresh credential, the old ones
     * revoked) only if the host is lost, or if the token is the one an operator's re-key issued
     * for it: a live host keeps its credential, and anyone else asking for its name gets a 409.
     * Every refusal rolls back, so the token keeps its use and nothing changes.
     */
    public Registered register(String name, UUID joinTokenId, String requestAddress) {
        Registered registered = db.tx(c -> {
            TokenStore.JoinScope scope = tokens.spendJoin(c, joinTokenId);
            if (scope.hosts() != null && !scope.hosts().contains(name)) {
                throw new ApiException(ErrorKind.FORBIDDEN, "join token " + joinTokenId + " is bound to host(s) "
                        + String.join(", ", scope.hosts()) + " and cannot register '" + name + "'", "name");
            }
            // The operator who bound the token knows the host's address; otherwise the connection
            // it came from is the host's address (never a value the host writes in its request).
            String address = scope.address() != null ? scope.address() : IpLiterals.canonical(requestAddress);
            UUID id = UUID.randomUUID();
            boolean created;
            try (PreparedStatement ins = c.prepareStatement(
                    "INSERT INTO hosts (id, name) VALUES (?, ?) ON CONFLICT (name) DO NOTHING")) {
                ins.setObject(1, id);
                ins.setString(2, name);
                created = ins.executeUpdate() == 1;
            }
            if (!created) {
                id = takeOver(c, name, scope);
                // A new credential pins a new stream certificate on its first report (a reinstalled host has a new one).
                clearStreams(c, id);
            }
            try (PreparedStatement ps = c.prepareStatement("UPDATE hosts SET address = ? WHERE id = ?")) {
                ps.setString(1, address);
                ps.setObject(2, id);
                ps.executeUpdate();
            }
            try (PreparedStatement hb = c.prepareStatement(
                    "INSERT INTO host_heartbeats (host_id, seen_at) VALUES (?, now()) ON CONFLICT DO NOTHING")) {
                hb.setObject(1, id);
                hb.executeUpdate();
            }
            String token = tokens.issue(c, Role.HOST, null, id, "host " + name, null).token();
            return new Registered(new RegisteredHost(id, name, token), created);
        });
        tokens.evictToken(joinTokenId);
        tokens.evictHost(registered.host().hostId());
        return registered;
    }

    /** The existing host {@code name}, its credentials revoked, if this registration may take it over. */
    private UUID takeOver(Connection c, String name, TokenStore.JoinScope scope) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT h.id, h.liveness, h.cordoned, extract(epoch FROM now() - b.seen_at)::bigint
                FROM hosts h LEFT JOIN host_heartbeats b ON b.host_id = h.id WHERE h.name = ? FOR UPDATE OF h""")) {
            ps.setString(1, name);
            UUID id;
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                id = rs.getObject(1, UUID.class);
                String liveness = rs.getString(2);
                // A heartbeat returns a lost host to ready in the transaction that records it, so a
                // host still lost has not been seen for longer than GPUFLEET_LOST_AFTER.
                if (!id.equals(scope.rekeyHost()) && !liveness.equals("lost")) {
                    throw new ApiException(ErrorKind.CONFLICT, "host " + name + " is registered and live ("
                            + liveness + (rs.getBoolean(3) ? ", cordoned" : "") + ", last heartbeat " + rs.getLong(4)
                            + " s ago); it keeps its credential and nothing was changed. To give it a new credential, an"
                            + " operator re-keys it (gpuctl rekey host " + name + ", or POST /v1/hosts/" + name
                            + "/rekey) and the agent registers with the join token that returns", "name");
                }
            }
            tokens.revokeHostTokens(c, id);
            Events.host(c, id, "Normal", "Reregistered", "host " + name + " registered again"
                    + (id.equals(scope.rekeyHost()) ? " with the join token of its re-key" : " after it was lost")
                    + "; its earlier credentials are revoked");
            return id;
        }
    }

    /**
     * An operator's re-key: the host's credentials (and any join token an earlier re-key issued
     * for it) are revoked at once, and a join token is issued that registers this host's name
     * once, live or not, within {@code ttl}. Recorded as an event on the host.
     */
    public Rekeyed rekey(UUID hostId, UUID operatorTokenId, Duration ttl) {
        Rekeyed r = db.tx(c -> {
            String name;
            try (PreparedStatement ps = c.prepareStatement("SELECT name FROM hosts WHERE id = ? FOR UPDATE")) {
                ps.setObject(1, hostId);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        throw ApiException.notFound("host " + hostId);
                    }
                    name = rs.getString(1);
                }
            }
            int revoked = tokens.revokeHostTokens(c, hostId);
            // The re-registered host pins its stream certificate anew (it may have been reinstalled); no streams until then.
            clearStreams(c, hostId);
            TokenStore.IssuedToken join = tokens.issueJoin(c, new TokenStore.JoinScope(1, List.of(name), hostId, null),
                    "re-key of host " + name, Instant.now().plus(ttl));
            Events.host(c, hostId, "Warning", "Rekeyed", "host " + name + " re-keyed by operator token " + operatorTokenId
                    + ": " + revoked + " credential(s) revoked; the host registers again with join token " + join.id());
            return new Rekeyed(hostId, name, revoked, join);
        });
        tokens.evictHost(hostId);
        return r;
    }

    private static void clearStreams(Connection c, UUID hostId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "UPDATE hosts SET stream_url = NULL, stream_key = NULL, stream_cert = NULL WHERE id = ?")) {
            ps.setObject(1, hostId);
            ps.executeUpdate();
        }
    }

    /** The outcome of a re-key: what was revoked and the join token to register with (its secret shown once). */
    public record Rekeyed(UUID hostId, String name, int revokedCredentials, TokenStore.IssuedToken joinToken) {}

    /** Resolves a path segment that is either a host id or a host name. */
    public UUID resolve(String idOrName) {
        return db.read(c -> {
            UUID asId = parseUuid(idOrName);
            try (PreparedStatement ps = c.prepareStatement(
                    asId != null ? "SELECT id FROM hosts WHERE id = ?" : "SELECT id FROM hosts WHERE name = ?")) {
                ps.setObject(1, asId != null ? asId : idOrName);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        throw ApiException.notFound("host " + idOrName);
                    }
                    return rs.getObject(1, UUID.class);
                }
            }
        });
    }

    public static UUID parseUuid(String text) {
        try {
            return text != null && text.length() == 36 ? UUID.fromString(text) : null;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /**
     * Stores a report unless a newer (or the same) generation is already stored. GPUs the host no
     * longer reports stay listed, unhealthy, so an allocation never points at nothing. GPUs beyond
     * the approved inventory are held, not placed onto (see {@link InventoryApproval}).
     */
    public ReportResult report(UUID hostId, InventoryReport r, String requestAddress) {
        return db.tx(c -> {
            if (!storeHostRow(c, hostId, r)) {
                return new ReportResult(false, storedGeneration(c, hostId));
            }
            adoptAddress(c, hostId, requestAddress);
            // storeHostRow holds the host's inventory row until commit, so reports and approvals
            // of one host read and change its approved GPUs one at a time.
            Map<String, String> approvedModels = InventoryApproval.approvedModels(c, hostId);
            InventoryApproval.Split split = InventoryApproval.split(approvedModels, r.gpus());
            refuseForeign(c, hostId, r.gpus());
            upsertGpus(c, hostId, split.approved());
            markMissing(c, hostId, r);
            split.approved().forEach(g -> approvedModels.put(g.uuid(), g.name()));
            String name = hostName(c, hostId);
            InventoryApproval.hold(c, hostId, name, split.held());
            storeConditions(c, hostId, InventoryApproval.withCondition(r.conditions(),
                    InventoryApproval.condition(name, approvedModels, split.held())));
            return new ReportResult(true, r.generation());
        });
    }

    /** True when this report was newer than the stored one and replaced it. */
    private static boolean storeHostRow(Connection c, UUID hostId, InventoryReport r) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO host_inventory AS i (host_id, generation, driver_version, cuda_version, cpu_millis, memory_bytes,
                    allocatable_cpu_millis, allocatable_memory_bytes, conditions)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb)
                ON CONFLICT (host_id) DO UPDATE SET generation = EXCLUDED.generation, reported_at = now(),
                    driver_version = EXCLUDED.driver_version, cuda_version = EXCLUDED.cuda_version,
                    cpu_millis = EXCLUDED.cpu_millis, memory_bytes = EXCLUDED.memory_bytes,
                    allocatable_cpu_millis = EXCLUDED.allocatable_cpu_millis,
                    allocatable_memory_bytes = EXCLUDED.allocatable_memory_bytes, conditions = EXCLUDED.conditions
                WHERE i.generation < EXCLUDED.generation""")) {
            ps.setObject(1, hostId);
            ps.setLong(2, r.generation());
            ps.setString(3, r.driverVersion());
            ps.setString(4, r.cudaVersion());
            ps.setLong(5, r.resources().cpuMillis());
            ps.setLong(6, r.resources().memoryBytes());
            ps.setLong(7, r.resources().allocatableCpuMillis());
            ps.setLong(8, r.resources().allocatableMemoryBytes());
            ps.setString(9, Json.mapper().writeValueAsString(r.conditions()));
            return ps.executeUpdate() == 1;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A host registered before addresses were kept gets the one its authenticated report came
     * from, as a registration would have recorded; a host with an address keeps it.
     */
    private static void adoptAddress(Connection c, UUID hostId, String requestAddress) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE hosts SET address = ? WHERE id = ? AND address IS NULL")) {
            ps.setString(1, IpLiterals.canonical(requestAddress));
            ps.setObject(2, hostId);
            ps.executeUpdate();
        }
    }

    static void storeConditions(Connection c, UUID hostId, List<HostCondition> conditions) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE host_inventory SET conditions = ?::jsonb WHERE host_id = ?")) {
            ps.setString(1, Json.mapper().writeValueAsString(conditions));
            ps.setObject(2, hostId);
            ps.executeUpdate();
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static String hostName(Connection c, UUID hostId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT name FROM hosts WHERE id = ?")) {
            ps.setObject(1, hostId);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw ApiException.notFound("host " + hostId);
                }
                return rs.getString(1);
            }
        }
    }

    /** A GPU another host holds is refused whether or not this host is approved for it, as before approval existed. */
    private static void refuseForeign(Connection c, UUID hostId, List<GpuReport> gpus) throws SQLException {
        List<String> uuids = new ArrayList<>();
        gpus.forEach(g -> uuids.add(g.uuid()));
        try (PreparedStatement ps = c.prepareStatement("SELECT uuid FROM gpus WHERE uuid = ANY (?) AND host_id <> ? LIMIT 1")) {
            ps.setArray(1, c.createArrayOf("text", uuids.toArray()));
            ps.setObject(2, hostId);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    int i = uuids.indexOf(rs.getString(1));
                    throw new ApiException(ErrorKind.CONFLICT, "gpu " + rs.getString(1)
                            + " is registered to another host; remove it there first (nothing was changed)", "gpus[" + i + "].uuid");
                }
            }
        }
    }

    private static long storedGeneration(Connection c, UUID hostId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT generation FROM host_inventory WHERE host_id = ?")) {
            ps.setObject(1, hostId);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    static void upsertGpus(Connection c, UUID hostId, List<GpuReport> gpus) throws SQLException {
        if (gpus.isEmpty()) {
            return;
        }
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO gpus AS g (uuid, host_id, idx, model, memory_bytes, memory_used_bytes, pci_bus_id, numa_node,
                    mig_enabled, healthy, health_reason, utilization_gpu, utilization_memory, temperature_c, power_mw,
                    topology, present, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, true, now())
                ON CONFLICT (uuid) DO UPDATE SET idx = EXCLUDED.idx, model = EXCLUDED.model,
                    memory_bytes = EXCLUDED.memory_bytes, memory_used_bytes = EXCLUDED.memory_used_bytes,
                    pci_bus_id = EXCLUDED.pci_bus_id, numa_node = EXCLUDED.numa_node, mig_enabled = EXCLUDED.mig_enabled,
                    healthy = EXCLUDED.healthy, health_reason = EXCLUDED.health_reason,
                    utilization_gpu = EXCLUDED.utilization_gpu, utilization_memory = EXCLUDED.utilization_memory,
                    temperature_c = EXCLUDED.temperature_c, power_mw = EXCLUDED.power_mw, topology = EXCLUDED.topology,
                    present = true, updated_at = now()
                WHERE g.host_id = EXCLUDED.host_id""")) {
            for (GpuReport g : gpus) {
                ps.setString(1, g.uuid());
                ps.setObject(2, hostId);
                ps.setInt(3, g.index());
                ps.setString(4, g.name());
                ps.setLong(5, g.memoryTotalBytes());
                setLong(ps, 6, g.memoryUsedBytes());
                ps.setString(7, g.pciBusId());
                setInt(ps, 8, g.numaNode());
                if (g.migEnabled() == null) {
                    ps.setNull(9, Types.BOOLEAN);
                } else {
                    ps.setBoolean(9, g.migEnabled());
                }
                ps.setBoolean(10, g.healthy());
                ps.setString(11, g.healthy() ? null : g.healthReason());
                setInt(ps, 12, g.utilizationGpu());
                setInt(ps, 13, g.utilizationMemory());
                setInt(ps, 14, g.temperatureC());
                setLong(ps, 15, g.powerMilliwatts());
                ps.setString(16, Json.mapper().writeValueAsString(g.topology()));
                ps.addBatch();
            }
            int[] counts = ps.executeBatch();
            for (int i = 0; i < counts.length; i++) {
                if (counts[i] == 0) {
                    throw new ApiException(ErrorKind.CONFLICT, "gpu " + gpus.get(i).uuid()
                            + " is registered to another host; remove it there first (nothing was changed)", "gpus[" + i + "].uuid");
                }
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void markMissing(Connection c, UUID hostId, InventoryReport r) throws SQLException {
        List<String> uuids = new ArrayList<>();
        r.gpus().forEach(g -> uuids.add(g.uuid()));
        try (PreparedStatement ps = c.prepareStatement("""
                UPDATE gpus SET present = false, healthy = false, updated_at = now(),
                    health_reason = 'not reported by the host since generation ' || ?
                WHERE host_id = ? AND present AND NOT (uuid = ANY (?))""")) {
            ps.setLong(1, r.generation());
            ps.setObject(2, hostId);
            ps.setArray(3, c.createArrayOf("text", uuids.toArray()));
            ps.executeUpdate();
        }
    }

    /** Cordons or uncordons a host; returns whether anything changed. */
    public boolean setCordoned(UUID hostId, boolean cordoned) {
        return db.tx(c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE hosts SET cordoned = ? WHERE id = ? AND cordoned <> ?")) {
                ps.setBoolean(1, cordoned);
                ps.setObject(2, hostId);
                ps.setBoolean(3, cordoned);
                return ps.executeUpdate() == 1;
            }
        });
    }

    private static void setInt(PreparedStatement ps, int i, Integer v) throws SQLException {
        if (v == null) {
            ps.setNull(i, Types.INTEGER);
        } else {
            ps.setInt(i, v);
        }
    }

    private static void setLong(PreparedStatement ps, int i, Long v) throws SQLException {
        if (v == null) {
            ps.setNull(i, Types.BIGINT);
        } else {
            ps.setLong(i, v);
        }
    }
}
