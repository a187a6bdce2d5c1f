package gpufleet.common.api;

import gpufleet.common.Invalid;

/**
 * A request for a new token. {@code ttl} (e.g. "24h", "30m") applies to join tokens, which
 * always expire; other tokens live until revoked.
 */
public record TokenRequest(String description, String ttl) {
    public TokenRequest {
        Invalid.check(description == null || description.length() <= 200, "description",
                "description is longer than 200 characters");
    }
}
