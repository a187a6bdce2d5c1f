package gpufleet.control.auth;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * Recently authenticated tokens, kept for a few seconds so that a host's heartbeat does not pay a
 * database round trip just to prove who it is (the Kubernetes API server caches token reviews
 * the same way). Only successes are cached. Revoking a token, disabling a tenant or
 * re-registering a host evicts at once on the replica that did it; other replicas forget the
 * entry within the time-to-live.
 */
final class TokenCache {
    static final Duration TTL = Duration.ofSeconds(5);
    private static final int MAX_ENTRIES = 200_000;

    private record Entry(Principal principal, long expiresAtNanos) {}

    private final Map<ByteBuffer, Entry> entries = new ConcurrentHashMap<>();

    Principal get(byte[] hash) {
        Entry e = entries.get(ByteBuffer.wrap(hash));
        if (e == null) {
            return null;
        }
        if (System.nanoTime() - e.expiresAtNanos() > 0) {
            entries.remove(ByteBuffer.wrap(hash), e);
            return null;
        }
        return e.principal();
    }

    /** Caches a success until the TTL or {@code tokenExpiresInNanos}, whichever comes first. */
    void put(byte[] hash, Principal principal, long tokenExpiresInNanos) {
        if (entries.size() >= MAX_ENTRIES) {
            entries.clear();
        }
        long ttl = Math.min(TTL.toNanos(), tokenExpiresInNanos);
        if (ttl > 0) {
            entries.put(ByteBuffer.wrap(hash.clone()), new Entry(principal, System.nanoTime() + ttl));
        }
    }

    void evictIf(Predicate<Principal> which) {
        entries.values().removeIf(e -> which.test(e.principal()));
    }

    void evictToken(UUID tokenId) {
        evictIf(p -> p.tokenId().equals(tokenId));
    }
}
