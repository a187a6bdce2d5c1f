package gpufleet.control.auth;

import gpufleet.common.Invalid;
import gpufleet.common.IpLiterals;
import java.util.HashSet;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A request for a join token. {@code uses}: how many registrations it allows (1 unless
 * {@code hosts} names more, at most {@value #MAX_USES}); {@code hosts}: the only host names it
 * may register (none given: any name); {@code ttl}: how long it works (1h unless given);
 * {@code address}: for a token that names one host, the IP address that host registers with
 * (none given: the address its registration comes from).
 */
public record JoinTokenRequest(String description, String ttl, Integer uses, List<String> hosts, String address) {
    public static final int MAX_USES = 1000;
    // The rule HostRegistration applies to the name a host registers under.
    private static final Pattern HOST_NAME = Pattern.compile("^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$");

    public JoinTokenRequest {
        Invalid.check(description == null || description.length() <= 200, "description",
                "description is longer than 200 characters");
        Invalid.check(uses == null || (uses >= 1 && uses <= MAX_USES), "uses",
                "uses must be between 1 and " + MAX_USES + ", got " + uses);
        if (hosts != null) {
            Invalid.check(!hosts.isEmpty(), "hosts", "hosts must name at least one host, or be left out to allow any name");
            Invalid.check(hosts.size() <= MAX_USES, "hosts", "hosts names more than " + MAX_USES + " hosts");
            for (int i = 0; i < hosts.size(); i++) {
                String h = hosts.get(i);
                Invalid.check(h != null && HOST_NAME.matcher(h).matches(), "hosts[" + i + "]",
                        "hosts[" + i + "] '" + h + "' is not a host name: lowercase letters, digits, '-' and '.', at most 63");
            }
            Invalid.check(new HashSet<>(hosts).size() == hosts.size(), "hosts", "hosts names a host more than once");
            hosts = List.copyOf(hosts);
        }
        if (address != null) {
            Invalid.check(hosts != null && hosts.size() == 1, "address",
                    "address binds one host's address: the token must name exactly one host in hosts");
            Invalid.check(IpLiterals.canonical(address) != null, "address",
                    "address '" + address + "' is not an IP address (a name is not accepted)");
        }
    }

    /** The bound address in canonical form, or null. */
    public String canonicalAddress() {
        return IpLiterals.canonical(address);
    }

    /** Registrations allowed: as asked, else one per named host, else one. */
    public int usesOrDefault() {
        return uses != null ? uses : hosts != null ? hosts.size() : 1;
    }
}
