package gpufleet.common.api;

import gpufleet.common.Invalid;
import java.util.HashSet;
import java.util.List;
import java.util.regex.Pattern;

/** A tenant as an operator creates it: a name that appears in hostnames, and its offerings. */
public record TenantSpec(String name, List<String> offerings) {
    public static final Pattern NAME = Pattern.compile("^[a-z0-9-]{1,40}$");

    public TenantSpec {
        Invalid.requiredText(name, "name", 40);
        Invalid.check(NAME.matcher(name).matches(), "name",
                "tenant name '" + name + "' must be 1-40 lowercase letters, digits or '-' (it appears in hostnames)");
        offerings = offerings == null ? List.of() : List.copyOf(offerings);
        Invalid.check(new HashSet<>(offerings).size() == offerings.size(), "offerings", "offerings lists a name twice");
    }
}
