package gpufleet.common;

import java.util.regex.Pattern;

/**
 * Kubernetes' name rules, for every name a tenant sends. Names end up in SQL parameters, Docker
 * labels, URL paths and the edge's configuration; checking them here, by the rules the API server
 * applies anyway, keeps anything that could be read as syntax (braces, slashes, dots where a
 * label is expected) out of all of them.
 */
public final class Names {
    private static final Pattern LABEL = Pattern.compile("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$");
    private static final Pattern LABEL_1035 = Pattern.compile("^[a-z]([-a-z0-9]*[a-z0-9])?$");
    private static final Pattern SUBDOMAIN = Pattern.compile("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$");
    private static final Pattern UID = Pattern.compile("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
    /** A pod's UID: Kubernetes gives a UUID; other callers of the API use any label-like id. */
    private static final Pattern POD_UID = Pattern.compile("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$");

    private Names() {}

    /** An RFC 1123 label (a namespace, a container, a tenant): at most {@code max} characters. */
    public static String label(String value, String field, int max) {
        return matching(LABEL, value, field, max, "lowercase letters, digits and '-', starting and ending with a letter or digit"
                + " (an RFC 1123 label)");
    }

    /** An RFC 1035 label (a Service's name): an RFC 1123 label that starts with a letter. */
    public static String label1035(String value, String field) {
        return matching(LABEL_1035, value, field, 63, "lowercase letters, digits and '-', starting with a letter and ending with"
                + " a letter or digit (an RFC 1035 label)");
    }

    /** An RFC 1123 subdomain (a pod's name): labels joined by '.', at most 253 characters. */
    public static String subdomain(String value, String field) {
        return matching(SUBDOMAIN, value, field, 253, "lowercase letters, digits, '-' and '.', each part starting and ending"
                + " with a letter or digit (an RFC 1123 subdomain)");
    }

    /** A Kubernetes UID as the API server makes them: a lowercase UUID. */
    public static String uid(String value, String field) {
        Invalid.required(value, field);
        Invalid.check(UID.matcher(value).matches(), field, field + " '" + value + "' must be a Kubernetes UID"
                + " (a lowercase UUID such as 8d0a8f33-e9f9-434a-b3de-9ae58ac9de76)");
        return value;
    }

    /** A pod's UID as workloads are keyed: lowercase letters, digits and '-', at most 64 characters. */
    public static String podUid(String value, String field) {
        return matching(POD_UID, value, field, 64, "lowercase letters, digits and '-', starting and ending with a letter or"
                + " digit (a Kubernetes UID)");
    }

    private static String matching(Pattern rule, String value, String field, int max, String what) {
        Invalid.requiredText(value, field, max);
        Invalid.check(rule.matcher(value).matches(), field, field + " '" + value + "' must be " + what);
        return value;
    }
}
