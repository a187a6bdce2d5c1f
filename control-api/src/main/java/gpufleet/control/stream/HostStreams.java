package gpufleet.control.stream;

import gpufleet.common.api.StreamEndpoint;
import gpufleet.control.config.SealKey;
import gpufleet.control.db.Database;
import gpufleet.control.http.ApiException;
import gpufleet.control.http.ErrorKind;
import gpufleet.control.inventory.HostAddresses;
import java.io.ByteArrayInputStream;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.UUID;

/**
 * Where each host serves streams, with what certificate, and which host runs a tenant's pod. The
 * host's ticket key is stored sealed with the operator's key (a database copy alone does not sign
 * tickets); its certificate is pinned on the first report and changes only after a re-key.
 */
public final class HostStreams {
    private final Database db;
    private final SealKey seal;

    public HostStreams(Database db, SealKey seal) {
        this.db = db;
        this.seal = seal;
    }

    Database database() {
        return db;
    }

    /** Records where the host serves streams; a certificate other than the pinned one is a 409. */
    public void save(UUID hostId, StreamEndpoint endpoint) {
        String certificate = canonical(endpoint.certificate());
        db.tx(c -> {
            HostAddresses.checkEndpoint(c, hostId, "address", endpoint.address());
            String name;
            String pinned;
            try (PreparedStatement ps = c.prepareStatement("SELECT name, stream_cert FROM hosts WHERE id = ? FOR UPDATE")) {
                ps.setObject(1, hostId);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        throw ApiException.notFound("host " + hostId);
                    }
                    name = rs.getString(1);
                    pinned = rs.getString(2);
                }
            }
            if (pinned != null && !pinned.equals(certificate)) {
                throw new ApiException(ErrorKind.CONFLICT, "host " + name + " reported a stream certificate other than the one"
                        + " pinned when it registered; if the host was reinstalled, re-key it (gpuctl rekey host " + name + ")");
            }
            try (PreparedStatement ps = c.prepareStatement(
                    "UPDATE hosts SET stream_url = ?, stream_key = ?, stream_cert = ? WHERE id = ?")) {
                ps.setString(1, endpoint.address());
                ps.setString(2, seal.sealText(endpoint.key(), keyContext(hostId)));
                ps.setString(3, certificate);
                ps.setObject(4, hostId);
                return ps.executeUpdate();
            }
        });
    }

    /** The certificate as base64 of its DER bytes; anything that is not an X.509 certificate is a 400. */
    private static String canonical(String base64) {
        try {
            X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(Base64.getDecoder().decode(base64)));
            return Base64.getEncoder().encodeToString(cert.getEncoded());
        } catch (CertificateException | IllegalArgumentException | ClassCastException e) {
            throw ApiException.invalid("certificate", "certificate must be a base64 DER X.509 certificate");
        }
    }

    /** Binds a sealed key to its host: a sealed key copied onto another host's row does not open. */
    private static String keyContext(UUID hostId) {
        return "hosts.stream_key " + hostId;
    }

    private Target target(ResultSet rs, UUID hostId, String podUid) throws SQLException {
        String sealed = rs.getString(7);
        String key = sealed == null ? null : seal.openText(sealed, keyContext(hostId));
        return new Target(rs.getObject(1, UUID.class), rs.getString(2), rs.getString(3), podUid, rs.getString(5),
                rs.getString(6), key, rs.getString(8));
    }

    /** A pod's workload and the stream server of the host it is on. */
    public record Target(UUID workload, String namespace, String name, String podUid, String hostName, String address,
                         String key, String certificate) {}

    /** The live workload of this tenant's pod, on a host that serves streams; else a clear refusal. */
    public Target target(String tenant, String podUid) {
        Target t = db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement("""
                    SELECT w.id, w.namespace, w.name, w.phase, h.name, h.stream_url, h.stream_key, h.stream_cert, h.id
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
                    return target(rs, rs.getObject(9, UUID.class), podUid);
                }
            }
        });
        if (t == null) {
            throw ApiException.notFound("pod " + podUid + " of tenant " + tenant);
        }
        if (t.address() == null || t.certificate() == null) {
            throw new ApiException(ErrorKind.UNAVAILABLE, "the host of pod " + t.namespace() + "/" + t.name()
                    + " does not serve streams yet (its host-agent has not reported a TLS stream endpoint)");
        }
        return t;
    }

    /** Every live, placed workload of the tenant, grouped by nothing: callers group by host. */
    public List<Target> placed(String tenant) {
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement("""
                    SELECT w.id, w.namespace, w.name, w.pod_uid, h.name, h.stream_url, h.stream_key, h.stream_cert, h.id
                    FROM workloads w JOIN hosts h ON h.id = w.host_id
                    WHERE w.tenant = ? AND w.deleted_at IS NULL AND h.stream_url IS NOT NULL AND h.stream_cert IS NOT NULL
                      AND w.phase IN ('placed', 'running')""")) {
                ps.setString(1, tenant);
                List<Target> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(target(rs, rs.getObject(9, UUID.class), rs.getString(4)));
                    }
                }
                return out;
            }
        });
    }
}
