package gpufleet.common;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Kubernetes resource quantities ("8000m", "63", "16Gi", "263567056Ki") to and from the plain
 * numbers the fleet stores: cpu in millicores, memory in bytes.
 */
public final class Quantity {
    private static final Pattern FORM = Pattern.compile("^([0-9]+(?:\\.[0-9]+)?)([a-zA-Z]*)$");
    private static final Map<String, BigDecimal> SUFFIX = Map.ofEntries(
            Map.entry("", BigDecimal.ONE),
            Map.entry("m", new BigDecimal("0.001")),
            Map.entry("k", BigDecimal.TEN.pow(3)),
            Map.entry("M", BigDecimal.TEN.pow(6)),
            Map.entry("G", BigDecimal.TEN.pow(9)),
            Map.entry("T", BigDecimal.TEN.pow(12)),
            Map.entry("P", BigDecimal.TEN.pow(15)),
            Map.entry("Ki", BigDecimal.valueOf(1L << 10)),
            Map.entry("Mi", BigDecimal.valueOf(1L << 20)),
            Map.entry("Gi", BigDecimal.valueOf(1L << 30)),
            Map.entry("Ti", BigDecimal.valueOf(1L << 40)),
            Map.entry("Pi", BigDecimal.valueOf(1L << 50)));
    private static final String[] BINARY = {"Pi", "Ti", "Gi", "Mi", "Ki"};

    private Quantity() {}

    /** Parses a quantity; throws {@link Invalid} naming {@code field} when it is not one. */
    public static BigDecimal parse(String text, String field) {
        Invalid.required(text, field);
        Matcher m = FORM.matcher(text.trim());
        BigDecimal unit = m.matches() ? SUFFIX.get(m.group(2)) : null;
        if (unit == null) {
            throw new Invalid(field, field + ": '" + text + "' is not a quantity (examples: 8, 8000m, 16Gi, 32861620Ki)");
        }
        return new BigDecimal(m.group(1)).multiply(unit);
    }

    public static long cpuMillis(String text, String field) {
        return exact(parse(text, field).multiply(BigDecimal.valueOf(1000)), text, field);
    }

    public static long bytes(String text, String field) {
        return exact(parse(text, field), text, field);
    }

    private static long exact(BigDecimal value, String text, String field) {
        try {
            return value.setScale(0, RoundingMode.CEILING).longValueExact();
        } catch (ArithmeticException e) {
            throw new Invalid(field, field + ": '" + text + "' is too large");
        }
    }

    /** Canonical cpu: whole cores when exact ("63"), millicores otherwise ("8500m"). */
    public static String cpu(long millis) {
        return millis % 1000 == 0 ? Long.toString(millis / 1000) : millis + "m";
    }

    /** Canonical memory: the largest binary suffix that keeps an integer ("16Gi", "263567056Ki"). */
    public static String memory(long bytes) {
        if (bytes == 0) {
            return "0";
        }
        for (String suffix : BINARY) {
            long unit = SUFFIX.get(suffix).longValue();
            if (bytes % unit == 0) {
                return bytes / unit + suffix;
            }
        }
        return Long.toString(bytes);
    }
}
