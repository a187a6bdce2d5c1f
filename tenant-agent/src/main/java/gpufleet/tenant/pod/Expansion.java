package gpufleet.tenant.pod;

import gpufleet.common.api.WorkloadSpec;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code $(VAR)} references in env values, command and args, expanded as the kubelet expands them:
 * a defined variable gives its value, an undefined one stays as written, {@code $$} is a literal
 * {@code $}. Env values see only the variables defined before them; command and args see all.
 */
final class Expansion {
    private Expansion() {}

    static String expand(String input, Map<String, String> vars) {
        if (input == null || input.indexOf('$') < 0) {
            return input;
        }
        StringBuilder out = new StringBuilder(input.length());
        int i = 0;
        while (i < input.length()) {
            char c = input.charAt(i);
            if (c != '$' || i + 1 == input.length()) {
                out.append(c);
                i++;
                continue;
            }
            char next = input.charAt(i + 1);
            int close = next == '(' ? input.indexOf(')', i + 2) : -1;
            if (next == '$') {
                out.append('$');
                i += 2;
            } else if (close >= 0) {
                String name = input.substring(i + 2, close);
                String value = vars.get(name);
                out.append(value != null ? value : "$(" + name + ")");
                i = close + 1;
            } else {
                out.append('$').append(next); // "$(" never closed, or "$x": kept as written
                i += 2;
            }
        }
        return out.toString();
    }

    static List<String> expand(List<String> inputs, Map<String, String> vars) {
        return inputs == null ? null : inputs.stream().map(s -> expand(s, vars)).toList();
    }

    /** The variables a container's env defines, a later definition of a name winning. */
    static Map<String, String> variables(List<WorkloadSpec.EnvVar> env) {
        Map<String, String> vars = new HashMap<>();
        env.forEach(e -> vars.put(e.name(), e.value()));
        return vars;
    }
}
