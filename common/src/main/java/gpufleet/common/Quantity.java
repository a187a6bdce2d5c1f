package gpufleet.common;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.util.Map;

/**
 * Kubernetes resource quantities, read and written as the API server does (apimachinery's
 * {@code resource.Quantity}), for every program of the fleet: cpu in millicores, memory in bytes,
 * extended resources (GPUs) as whole numbers.
 *
 * <p>Grammar: an optional sign, digits with an optional point ({@code 5}, {@code 5.}, {@code .5},
 * {@code 5.25}), then one suffix: decimal {@code n u m "" k M G T P E}, binary {@code Ki Mi Gi Ti Pi Ei},
 * or a decimal exponent {@code e}/{@code E} with an optional sign ({@code 128e6}, {@code 1E-3}). No
 * spaces. As Kubernetes, a non-zero value finer than a nano is rounded away from zero to one nano,
 * and a binary quantity above 2^63-1 is capped there.
 */
public final class Quantity {
    /** How a quantity was written, which decides how Kubernetes writes it back. */
    public enum Format { DECIMAL_SI, BINARY_SI, DECIMAL_EXPONENT }

    /** A parsed quantity: its exact value and the form it was written in. */
    public record Parsed(BigDecimal value, Format format) {}

    private static final String SUFFIX_LETTERS = "eEinumkKMGTP";
    private static final Map<String, Integer> DECIMAL = Map.of("n", -9, "u", -6, "m", -3, "", 0, "k", 3, "M", 6,
            "G", 9, "T", 12, "P", 15, "E", 18);
    private static final Map<String, Integer> BINARY = Map.of("Ki", 10, "Mi", 20, "Gi", 30, "Ti", 40, "Pi", 50, "Ei", 60);
    private static final String[] DECIMAL_OUT = {"n", "u", "m", "", "k", "M", "G", "T", "P", "E"};
    private static final String[] BINARY_OUT = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    private static final BigDecimal NANO = new BigDecimal("1e-9");
    private static final BigDecimal BINARY_CAP = BigDecimal.valueOf(Long.MAX_VALUE);
    private static final BigDecimal THOUSAND = BigDecimal.valueOf(1000);

    private Quantity() {}

    /** Parses a quantity; throws {@link Invalid} naming {@code field} when it is not one. */
    public static BigDecimal parse(String text, String field) {
        return read(text, field).value();
    }

    /** Parses a quantity with the form it was written in. */
    public static Parsed read(String text, String field) {
        Invalid.required(text, field);
        Parsed p = scan(text);
        if (p == null) {
            throw new Invalid(field, field + ": '" + text + "' is not a quantity (examples: 8, 8000m, 0.5, 16Gi, 128e6)");
        }
        return p;
    }

    /** Millicores, rounded up as the kubelet reads a cpu quantity (0.0001 is 1m). */
    public static long cpuMillis(String text, String field) {
        return nonNegative(parse(text, field).multiply(THOUSAND), text, field);
    }

    /** Bytes, rounded up to a whole byte. */
    public static long bytes(String text, String field) {
        return nonNegative(parse(text, field), text, field);
    }

    /**
     * A count of an extended resource (nvidia.com/gpu): the API server takes only integers there,
     * so a fraction of a GPU is refused rather than rounded.
     */
    public static long whole(String text, String field) {
        BigDecimal v = parse(text, field);
        if (v.signum() != 0 && v.stripTrailingZeros().scale() > 0) {
            throw new Invalid(field, field + ": '" + text + "' must be an integer (extended resources such as GPUs are whole "
                    + "devices, never shared by fractions)");
        }
        return nonNegative(v, text, field);
    }

    private static long nonNegative(BigDecimal value, String text, String field) {
        if (value.signum() < 0) {
            throw new Invalid(field, field + ": '" + text + "' must be greater than or equal to 0");
        }
        if (value.precision() - value.scale() > 19) {
            throw new Invalid(field, field + ": '" + text + "' is too large");
        }
        try {
            return value.setScale(0, RoundingMode.CEILING).longValueExact();
        } catch (ArithmeticException e) {
            throw new Invalid(field, field + ": '" + text + "' is too large");
        }
    }

    /** Canonical cpu, as Kubernetes writes a decimal quantity: "63", "8500m", "1k". */
    public static String cpu(long millis) {
        return format(BigDecimal.valueOf(millis, 3), Format.DECIMAL_SI);
    }

    /** Canonical memory, as Kubernetes writes a binary quantity: "16Gi", "263567056Ki", "1000000000". */
    public static String memory(long bytes) {
        return format(BigDecimal.valueOf(bytes), Format.BINARY_SI);
    }

    /**
     * Kubernetes' canonical form: no fraction, the largest suffix that loses nothing, in the form
     * the quantity was written in; binary below 1024 or with a fraction falls back to decimal.
     */
    public static String format(BigDecimal value, Format format) {
        if (value.signum() == 0) {
            return "0";
        }
        String sign = value.signum() < 0 ? "-" : "";
        BigDecimal abs = value.abs();
        if (format == Format.BINARY_SI && abs.compareTo(BigDecimal.valueOf(1024)) >= 0 && abs.stripTrailingZeros().scale() <= 0) {
            BigInteger n = abs.toBigIntegerExact();
            int power = 0;
            BigInteger k = BigInteger.valueOf(1024);
            while (power < BINARY_OUT.length - 1 && n.mod(k).signum() == 0) {
                n = n.divide(k);
                power++;
            }
            return sign + n + BINARY_OUT[power];
        }
        BigDecimal stripped = abs.stripTrailingZeros();
        int exponent = -stripped.scale();
        int thousands = Math.floorDiv(exponent, 3) * 3;
        BigInteger mantissa = stripped.unscaledValue().multiply(BigInteger.TEN.pow(exponent - thousands));
        int index = thousands / 3 + 3;
        if (format != Format.DECIMAL_EXPONENT && index >= 0 && index < DECIMAL_OUT.length) {
            return sign + mantissa + DECIMAL_OUT[index];
        }
        return sign + mantissa + (thousands == 0 ? "" : "e" + thousands);
    }

    /** The scanner, step by step as apimachinery's: null when the text is not a quantity. */
    private static Parsed scan(String s) {
        if (s.isEmpty()) {
            return null;
        }
        int end = s.length();
        int pos = 0;
        boolean negative = false;
        if (s.charAt(0) == '+' || s.charAt(0) == '-') {
            negative = s.charAt(0) == '-';
            pos++;
        }
        int intStart = pos;
        pos = digits(s, pos);
        String whole = s.substring(intStart, pos);
        String fraction = "";
        if (pos < end && s.charAt(pos) == '.') {
            int fracStart = ++pos;
            pos = digits(s, pos);
            fraction = s.substring(fracStart, pos);
        }
        int suffixStart = pos;
        while (pos < end && SUFFIX_LETTERS.indexOf(s.charAt(pos)) >= 0) {
            pos++;
        }
        if (pos < end && (s.charAt(pos) == '+' || s.charAt(pos) == '-')) {
            pos++;
        }
        if (digits(s, pos) != end) {
            return null;
        }
        BigDecimal number = new BigDecimal((whole.isEmpty() ? "0" : whole) + (fraction.isEmpty() ? "" : "." + fraction));
        try {
            return apply(negative ? number.negate() : number, s.substring(suffixStart));
        } catch (ArithmeticException e) {
            return null; // an exponent so far out that no decimal can hold the value
        }
    }

    private static int digits(String s, int pos) {
        while (pos < s.length() && s.charAt(pos) >= '0' && s.charAt(pos) <= '9') {
            pos++;
        }
        return pos;
    }

    private static Parsed apply(BigDecimal number, String suffix) {
        Integer exp = DECIMAL.get(suffix);
        if (exp != null) {
            return new Parsed(toNano(number.scaleByPowerOfTen(exp)), Format.DECIMAL_SI);
        }
        Integer bits = BINARY.get(suffix);
        if (bits != null) {
            BigDecimal v = toNano(number.multiply(new BigDecimal(BigInteger.ONE.shiftLeft(bits))));
            if (v.abs().compareTo(BINARY_CAP) > 0) {
                v = v.signum() < 0 ? BINARY_CAP.negate() : BINARY_CAP;
            }
            // Below one, a binary quantity is written as a decimal one (Kubernetes: "avoids confusion").
            boolean belowOne = v.signum() != 0 && v.abs().compareTo(BigDecimal.ONE) < 0;
            return new Parsed(v, belowOne ? Format.DECIMAL_SI : Format.BINARY_SI);
        }
        if (suffix.length() > 1 && (suffix.charAt(0) == 'e' || suffix.charAt(0) == 'E')) {
            int e;
            try {
                // Kubernetes reads the exponent as a 64-bit number and then narrows it; past an int
                // we refuse instead of taking a wrapped exponent.
                e = Integer.parseInt(suffix.substring(1));
            } catch (NumberFormatException x) {
                return null;
            }
            return new Parsed(toNano(number.scaleByPowerOfTen(e)), Format.DECIMAL_EXPONENT);
        }
        return null;
    }

    /** Rounds a non-zero value finer than a nano away from zero, as the API server stores it. */
    private static BigDecimal toNano(BigDecimal v) {
        if (v.signum() == 0 || v.scale() <= 9) {
            return v;
        }
        if (v.precision() - v.scale() <= -9) {
            return v.signum() < 0 ? NANO.negate() : NANO; // below one nano: cheaper than a division by 10^huge
        }
        return v.setScale(9, RoundingMode.UP);
    }
}
