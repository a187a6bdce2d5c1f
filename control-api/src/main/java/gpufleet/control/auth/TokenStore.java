package gpufleet.control.auth;

import gpufleet.control.db.Database;
import gpufleet.control.http.ApiException;
import gpufleet.control.http.ErrorKind;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Tokens in PostgreSQL, stored hashed: issue, authenticate, list, revoke. */
public final class TokenStore {
    private static final Logger log = LoggerFactory.getLogger(TokenStore.class);
    private static final long BOOTSTRAP_LOCK = 0x6770_7566_0001L;

    private final Database db;
    private final HostCredentials hostCredentials;
    private final TokenCache cache = new TokenCache();

    public TokenStore(Database db, HostCredentials hostCredentials) {
        this.db = db;
        this.hostCredentials = hostCredentials;
    }

    /**
     * A token's public facts; the secret is never stored and never listed. Join tokens also say
     * how many registrations they allow ({@code uses}), how many were made ({@code used}), and
     * the host names they are bound to ({@code hosts}; absent: any name).
     */
    public record TokenInfo(UUID id, String role, String tenant, UUID hostId, String description,
                            Instant createdAt, Instant expiresAt, Instant revokedAt,
                            Integer uses, Integer used, List<String> hosts) {}

    /** A token just made: the only moment its secret is shown. */
    public record IssuedToken(UUID id, String role, String token, String tenant, UUID hostId, Instant expiresAt,
                              Integer uses, List<String> hosts) {}

    /**
     * What a join token allows: {@code uses} registrations, of the names in {@code hosts} only
     * (null: any name); {@code rekeyHost}, for a token an operator's re-key issued, is the host
     * whose name it may take over although that host is live; {@code address}, if the operator
     * named one, is the address the host registers with (see docs/security.md).
     */
    public record JoinScope(int uses, List<String> hosts, UUID rekeyHost, String address) {}

    public IssuedToken issue(Connection c, Role role, String tenant, UUID hostId, String description, Instant expiresAt)
            throws SQLException {
        String secret = TokenSecrets.generate(role);
        UUID id = insert(c, role, tenant, hostId, description, expiresAt, TokenSecrets.hash(secret));
        return new IssuedToken(id, role.wire(), secret, tenant, hostId, expiresAt, null, null);
    }

    /** A join token limited to {@code scope}. */
    public IssuedToken issueJoin(Connection c, JoinScope scope, String description, Instant expiresAt) throws SQLException {
        String secret = TokenSecrets.generate(Role.JOIN);
        UUID id = UUID.randomUUID();
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO tokens (id, role, secret_hash, description, expires_at, uses, host_names, rekey_host_id, host_address)
                VALUES (?, 'join', ?, ?, ?, ?, ?, ?, ?)""")) {
            ps.setObject(1, id);
            ps.setBytes(2, TokenSecrets.hash(secret));
            ps.setString(3, description);
            ps.setTimestamp(4, Timestamp.from(expiresAt));
            ps.setInt(5, scope.uses());
            ps.setArray(6, scope.hosts() == null ? null : c.createArrayOf("text", scope.hosts().toArray()));
            ps.setObject(7, scope.rekeyHost());
            ps.setString(8, scope.address());
            ps.executeUpdate();
        }
        return new IssuedToken(id, Role.JOIN.wire(), secret, null, null, expiresAt, scope.uses(), scope.hosts());
    }

    public IssuedToken issueJoin(JoinScope scope, String description, Instant expiresAt) {
        return db.tx(c -> issueJoin(c, scope, description, expiresAt));
    }

    /**
     * Spends one registration of a join token, in the caller's transaction: the row's lock makes
     * two registrations racing for the last use wait for each other, and only one finds a use
     * left. If the registration then fails, its rollback gives the use back. A token with no use
     * left, revoked or expired is a 401 that says which.
     */
    public JoinScope spendJoin(Connection c, UUID tokenId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                UPDATE tokens SET used = used + 1
                WHERE id = ? AND role = 'join' AND revoked_at IS NULL AND expires_at > now() AND used < uses
                RETURNING uses, host_names, rekey_host_id, host_address""")) {
            ps.setObject(1, tokenId);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    return new JoinScope(rs.getInt(1), names(rs.getArray(2)), rs.getObject(3, UUID.class), rs.getString(4));
                }
            }
        }
        TokenInfo t = find(c, tokenId);
        cache.evictToken(tokenId);
        if (t.revokedAt() != null) {
            throw new ApiException(ErrorKind.UNAUTHORIZED, "token " + tokenId + " has been revoked");
        }
        if (t.uses() != null && t.used() >= t.uses()) {
            throw new ApiException(ErrorKind.UNAUTHORIZED, usedUp(tokenId, t.uses()));
        }
        throw new ApiException(ErrorKind.UNAUTHORIZED, "token " + tokenId + " expired at " + t.expiresAt());
    }

    private static String usedUp(UUID id, int uses) {
        return "join token " + id + " is used up: it allowed " + (uses == 1 ? "one registration" : uses + " registrations")
                + " and all were made; ask an operator for a new one (gpuctl create join-token --host NAME)";
    }

    private static List<String> names(java.sql.Array array) throws SQLException {
        return array == null ? null : List.of((String[]) array.getArray());
    }

    public IssuedToken issue(Role role, String tenant, UUID hostId, String description, Instant expiresAt) {
        return db.tx(c -> issue(c, role, tenant, hostId, description, expiresAt));
    }

    private static UUID insert(Connection c, Role role, String tenant, UUID hostId, String description,
                               Instant expiresAt, byte[] hash) throws SQLException {
        UUID id = UUID.randomUUID();
        try (PreparedStatement ps = c.prepareStatement(
                "INSERT INTO tokens (id, role, tenant, host_id, secret_hash, description, expires_at) VALUES (?,?,?,?,?,?,?)")) {
            ps.setObject(1, id);
            ps.setString(2, role.wire());
            ps.setString(3, tenant);
            ps.setObject(4, hostId);
            ps.setBytes(5, hash);
            ps.setString(6, description);
            ps.setTimestamp(7, expiresAt == null ? null : Timestamp.from(expiresAt));
            ps.executeUpdate();
        }
        return id;
    }

    /**
     * Makes sure an operator can get in: the configured token is stored (hashed) if given;
     * otherwise, when no operator token exists at all, one is created and returned to be
     * printed once. An advisory lock keeps two replicas starting together from both creating one.
     */
    public String bootstrapOperator(String configured) {
        return db.tx(c -> {
            try (PreparedStatement lock = c.prepareStatement("SELECT pg_advisory_xact_lock(?)")) {
                lock.setLong(1, BOOTSTRAP_LOCK);
                lock.execute();
            }
            if (configured != null) {
                byte[] hash = TokenSecrets.hash(configured);
                try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM tokens WHERE secret_hash = ?")) {
                    ps.setBytes(1, hash);
                    if (!ps.executeQuery().next()) {
                        insert(c, Role.OPERATOR, null, null, "from GPUFLEET_OPERATOR_TOKEN", null, hash);
                        log.info("operator token from GPUFLEET_OPERATOR_TOKEN stored (hashed)");
                    }
                }
                return null;
            }
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT 1 FROM tokens WHERE role = 'operator' AND revoked_at IS NULL")) {
                if (ps.executeQuery().next()) {
                    return null;
                }
            }
            return issue(c, Role.OPERATOR, null, null, "first operator token", null).token();
        });
    }

    /** The caller behind a bearer token, or a 401/403 that says exactly what is wrong with it. */
    public Principal authenticate(String token) {
        if (token == null || token.isBlank()) {
            throw new ApiException(ErrorKind.UNAUTHORIZED, "missing bearer token: send 'Authorization: Bearer <token>'");
        }
        byte[] hash = TokenSecrets.hash(token);
        Principal host = hostCredentials.lookup(hash);
        if (host != null) {
            return host;
        }
        Principal cached = cache.get(hash);
        if (cached != null) {
            return cached;
        }
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement("""
                    SELECT t.id, t.role, t.tenant, t.host_id, t.expires_at, t.revoked_at, t.expires_at < now() AS expired,
                           tn.disabled_at IS NOT NULL AS tenant_disabled,
                           coalesce(extract(epoch FROM t.expires_at - now()) * 1e9, 9e18)::float8 AS expires_in_ns,
                           t.uses, t.used >= t.uses AS used_up
                    FROM tokens t LEFT JOIN tenants tn ON tn.name = t.tenant
                    WHERE t.secret_hash = ?""")) {
                ps.setBytes(1, hash);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        throw new ApiException(ErrorKind.UNAUTHORIZED, "token is not valid");
                    }
                    UUID id = rs.getObject(1, UUID.class);
                    if (rs.getTimestamp(6) != null) {
                        throw new ApiException(ErrorKind.UNAUTHORIZED, "token " + id + " has been revoked");
                    }
                    if (rs.getBoolean(7)) {
                        throw new ApiException(ErrorKind.UNAUTHORIZED, "token " + id + " expired at " + rs.getTimestamp(5).toInstant());
                    }
                    if (rs.getBoolean(11)) {
                        throw new ApiException(ErrorKind.UNAUTHORIZED, usedUp(id, rs.getInt(10)));
                    }
                    String tenant = rs.getString(3);
                    if (rs.getBoolean(8)) {
                        throw new ApiException(ErrorKind.FORBIDDEN, "tenant " + tenant + " is disabled");
                    }
                    Principal p = new Principal(id, Role.fromWire(rs.getString(2)), tenant, rs.getObject(4, UUID.class));
                    cache.put(hash, p, (long) Math.min(rs.getDouble(9), Long.MAX_VALUE));
                    return p;
                }
            }
        });
    }

    public List<TokenInfo> list(Role role, String tenant) {
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement("""
                    SELECT id, role, tenant, host_id, description, created_at, expires_at, revoked_at, uses, used, host_names FROM tokens
                    WHERE (?::text IS NULL OR role = ?) AND (?::text IS NULL OR tenant = ?) ORDER BY created_at, id""")) {
                String r = role == null ? null : role.wire();
                ps.setString(1, r);
                ps.setString(2, r);
                ps.setString(3, tenant);
                ps.setString(4, tenant);
                List<TokenInfo> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(info(rs));
                    }
                }
                return out;
            }
        });
    }

    /** Revokes a token; revoking one already revoked changes nothing and answers the same. */
    public TokenInfo revoke(UUID id) {
        TokenInfo revoked = db.tx(c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "UPDATE tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = ? RETURNING role")) {
                ps.setObject(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        throw ApiException.notFound("token " + id);
                    }
                }
            }
            return find(c, id);
        });
        evictToken(id);
        return revoked;
    }

    private static TokenInfo find(Connection c, UUID id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT id, role, tenant, host_id, description, created_at, expires_at, revoked_at, uses, used, host_names FROM tokens WHERE id = ?")) {
            ps.setObject(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return info(rs);
            }
        }
    }

    /** A row of the token columns that list and find select, in their order. */
    private static TokenInfo info(ResultSet rs) throws SQLException {
        Integer uses = rs.getObject(9) == null ? null : rs.getInt(9);
        return new TokenInfo(rs.getObject(1, UUID.class), rs.getString(2), rs.getString(3), rs.getObject(4, UUID.class),
                rs.getString(5), instant(rs, 6), instant(rs, 7), instant(rs, 8), uses, uses == null ? null : rs.getInt(10),
                names(rs.getArray(11)));
    }

    /** Forgets a token's cached authentication (a join token whose last use was just spent). */
    public void evictToken(UUID id) {
        hostCredentials.forget(id);
        cache.evictToken(id);
    }

    /** Forgets cached authentications of a host's tokens (after its credentials were replaced). */
    public void evictHost(UUID hostId) {
        hostCredentials.forgetHost(hostId);
        cache.evictIf(p -> hostId.equals(p.hostId()));
    }

    /** Forgets cached authentications of a tenant's tokens (the tenant was disabled). */
    public void evictTenant(String tenant) {
        cache.evictIf(p -> tenant.equals(p.tenant()));
    }

    /** Revokes every live token of a host, and join tokens an earlier re-key issued for it; how many. */
    public int revokeHostTokens(Connection c, UUID hostId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                UPDATE tokens SET revoked_at = now()
                WHERE (host_id = ? OR rekey_host_id = ?) AND revoked_at IS NULL RETURNING role""")) {
            ps.setObject(1, hostId);
            ps.setObject(2, hostId);
            int credentials = 0;
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    credentials += rs.getString(1).equals("host") ? 1 : 0;
                }
            }
            return credentials;
        }
    }

    static Instant instant(ResultSet rs, int column) throws SQLException {
        Timestamp ts = rs.getTimestamp(column);
        return ts == null ? null : ts.toInstant();
    }
}
