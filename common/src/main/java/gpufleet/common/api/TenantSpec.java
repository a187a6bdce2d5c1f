package gpufleet.common.api;

import gpufleet.common.Invalid;
import gpufleet.common.Names;
import java.util.HashSet;
import java.util.List;

/** A tenant as an operator creates it: a name that appears in hostnames, and its offerings. */
public record TenantSpec(String name, List<String> offerings) {
    /**
     * A public name is {@code <service uid>-<tenant>.<domain>}: the 36 characters of the UID, a '-'
     * and the tenant must fit in one DNS label of 63.
     */
    public static final int MAX_NAME = 63 - 36 - 1;

    public TenantSpec {
        Invalid.check(name == null || name.length() <= MAX_NAME, "name", "tenant name '" + name + "' is longer than " + MAX_NAME
                + " characters: its Services' public names (<service uid>-<tenant>) must fit in one 63-character DNS label");
        Names.label(name, "name", MAX_NAME);
        offerings = offerings == null ? List.of() : List.copyOf(offerings);
        Invalid.check(new HashSet<>(offerings).size() == offerings.size(), "offerings", "offerings lists a name twice");
    }
}
