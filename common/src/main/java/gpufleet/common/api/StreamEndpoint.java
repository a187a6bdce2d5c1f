package gpufleet.common.api;

import gpufleet.common.Invalid;

/**
 * Where a host-agent's stream server listens ({@code address}: host:port on the provider's network)
 * and the key the control-api signs stream tickets with. Sent by the agent each time it starts.
 */
public record StreamEndpoint(String address, String key) {
    public StreamEndpoint {
        Invalid.requiredText(address, "address", 300);
        Invalid.check(address.lastIndexOf(':') > 0, "address", "address '" + address + "' must be host:port");
        Invalid.requiredText(key, "key", 200);
        Invalid.check(key.length() >= 32, "key", "key must be at least 32 characters");
    }
}
