package gpufleet.control.stream;

import gpufleet.common.api.StreamEndpoint;
import gpufleet.control.db.Database;
import gpufleet.control.http.ApiException;
import gpufleet.control.http.ErrorKind;
import gpufleet.control.inventory.HostAddresses;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/** Where each host serves streams, and which host runs a tenant's pod. */
public final class HostStreams {
    private final Database db;

    public HostStreams(Database db) {
        this.db = db;
    }

    public void save(UUID hostId, StreamEndpoint endpoint) {
        int n = db.tx(c -> {
            HostAddresses.checkEndpoint(c, hostId, "address", endpoint.address());
            try (PreparedStatement ps = c.prepareStatement("UPDATE hosts SET stream_url = ?, stream_key = ? WHERE id = ?")) {
                ps.setString(1, endpoint.address());
                ps.setString(2, endpoint.key());
                ps.setObject(3, hostId);
                return ps.executeUpdate();
            }
        });
        if (n == 0) {
            throw ApiException.notFound("host " + hostId);
        }
    }

    /** A pod's workload and the stream server of the host it is on. */
    public record Target(UUID workload, String namespace, String name, String podUid, String hostName, String address, String key) {}

    /** The live workload of this tenant's pod, on a host that serves streams; else a clear refusal. */
    public Target target(String tenant, String podUid) {
        Target t = db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement("""
                    SELECT w.id, w.namespace, w.name, w.phase, h.name, h.stream_url, h.stream_key
                    FROM workloads w LEFT JOIN hosts h ON h.id = w.host_id
                    WHERE w.tenant = ? AND w.pod_uid = ? AND w.deleted_at IS NULL""")) {
                ps.setString(1, tenant);
                ps.setString(2, podUid);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        return null;
                    }
                    if (rs.getString(5) == null) {
                        throw new ApiException(ErrorKind.CONFLICT, "pod " + rs.getString(2) + "/" + rs.getString(3)
                                + " is not running on a host yet (" + rs.getString(4) + ")");
                    }
                    return new Target(rs.getObject(1, UUID.class), rs.getString(2), rs.getString(3), podUid,
                            rs.getString(5), rs.getString(6), rs.getString(7));
                }
            }
        });
        if (t == null) {
            throw ApiException.notFound("pod " + podUid + " of tenant " + tenant);
        }
        if (t.address() == null) {
            throw new ApiException(ErrorKind.UNAVAILABLE, "host " + t.hostName() + " of pod " + t.namespace() + "/" + t.name()
                    + " does not serve streams (its host-agent has not reported a stream address)");
        }
        return t;
    }

    /** Every live, placed workload of the tenant, grouped by nothing: callers group by host. */
    public List<Target> placed(String tenant) {
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement("""
                    SELECT w.id, w.namespace, w.name, w.pod_uid, h.name, h.stream_url, h.stream_key
                    FROM workloads w JOIN hosts h ON h.id = w.host_id
                    WHERE w.tenant = ? AND w.deleted_at IS NULL AND h.stream_url IS NOT NULL
                      AND w.phase IN ('placed', 'running')""")) {
                ps.setString(1, tenant);
                List<Target> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(new Target(rs.getObject(1, UUID.class), rs.getString(2), rs.getString(3), rs.getString(4),
                                rs.getString(5), rs.getString(6), rs.getString(7)));
                    }
                }
                return out;
            }
        });
    }
}
