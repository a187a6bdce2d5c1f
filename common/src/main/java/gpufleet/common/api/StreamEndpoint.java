package gpufleet.common.api;

import gpufleet.common.Invalid;

/**
 * Where a host-agent's stream server listens ({@code address}: host:port on the provider's network),
 * the key the control-api signs stream tickets with, and the server's TLS certificate (base64 of
 * its DER bytes), which the control-api pins at registration. Sent by the agent each time it starts.
 */
public record StreamEndpoint(String address, String key, String certificate) {
    public StreamEndpoint {
        Invalid.requiredText(address, "address", 300);
        Invalid.check(address.lastIndexOf(':') > 0, "address", "address '" + address + "' must be host:port");
        Invalid.requiredText(key, "key", 200);
        Invalid.check(key.length() >= 32, "key", "key must be at least 32 characters");
        Invalid.requiredText(certificate, "certificate", 16_000);
    }
}
