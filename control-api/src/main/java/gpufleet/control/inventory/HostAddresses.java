package gpufleet.control.inventory;

import gpufleet.common.IpLiterals;
import gpufleet.control.http.ApiException;
import gpufleet.control.http.ErrorKind;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Map;
import java.util.UUID;

/**
 * A host's registered address, and the wall built on it: whatever a host says the edge or the
 * control-api should connect to (a published port, its stream server) must be on that address.
 * Otherwise a host could have the edge proxy tenants' traffic, or the control-api carry kubectl
 * streams, to any machine it names. Loopback gets no exception: agents on 127.0.0.1 register
 * from 127.0.0.1 and publish there, so the same equality holds for them.
 */
public final class HostAddresses {
    private HostAddresses() {}

    /** The host part of {@code host:port} or {@code [v6]:port}, as written. */
    static String hostPart(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        return colon <= 0 ? hostPort : hostPort.substring(0, colon);
    }

    /** The host's registered address, or null when it has none (registered before addresses were kept). */
    static String registered(Connection c, UUID hostId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT address FROM hosts WHERE id = ?")) {
            ps.setObject(1, hostId);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw ApiException.notFound("host " + hostId);
                }
                return rs.getString(1);
            }
        }
    }

    /**
     * Refuses (403 naming {@code field} and the expected address) an endpoint {@code hostPort} the
     * host reported that is not on its registered address. Call it in the transaction that would
     * store the endpoint, before storing: the refusal rolls back, so nothing changes.
     */
    public static void checkEndpoint(Connection c, UUID hostId, String field, String hostPort) throws SQLException {
        check(registered(c, hostId), field, hostPort);
    }

    /** {@link #checkEndpoint} for each published port of a workload status report (container port → address:port). */
    public static void checkPorts(Connection c, UUID hostId, Map<String, String> ports) throws SQLException {
        if (ports.isEmpty()) {
            return;
        }
        String registered = registered(c, hostId);
        for (Map.Entry<String, String> e : ports.entrySet()) {
            check(registered, "ports." + e.getKey(), e.getValue());
        }
    }

    private static void check(String registered, String field, String hostPort) {
        if (registered == null) {
            throw new ApiException(ErrorKind.FORBIDDEN, field + " '" + hostPort + "' cannot be accepted: this host has no"
                    + " registered address yet; an operator sets it (PUT /v1/hosts/{host}/address)", field);
        }
        String given = IpLiterals.canonical(hostPart(hostPort));
        if (!registered.equals(given)) {
            throw new ApiException(ErrorKind.FORBIDDEN, field + " '" + hostPort + "' is not on this host's registered address "
                    + registered + "; a host may only publish and serve on its own address (nothing was changed)", field);
        }
    }
}
