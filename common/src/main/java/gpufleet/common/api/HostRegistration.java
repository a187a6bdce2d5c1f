package gpufleet.common.api;

import gpufleet.common.Invalid;
import java.util.regex.Pattern;

/** What a new host sends with its join token. Registering the same name again is idempotent. */
public record HostRegistration(String name) {
    private static final Pattern NAME = Pattern.compile("^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$");

    public HostRegistration {
        Invalid.requiredText(name, "name", 63);
        Invalid.check(NAME.matcher(name).matches(), "name",
                "name '" + name + "' must be a DNS label: lowercase letters, digits, '-' and '.', at most 63");
    }
}
