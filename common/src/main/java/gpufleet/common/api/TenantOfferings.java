package gpufleet.common.api;

import gpufleet.common.Invalid;
import java.util.HashSet;
import java.util.List;

/** The full set of offerings a tenant may use (replaces the previous set). */
public record TenantOfferings(List<String> offerings) {
    public TenantOfferings {
        Invalid.required(offerings, "offerings");
        offerings = List.copyOf(offerings);
        Invalid.check(new HashSet<>(offerings).size() == offerings.size(), "offerings", "offerings lists a name twice");
    }
}
