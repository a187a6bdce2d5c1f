package gpufleet.common;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.regex.Pattern;

/** IP address literals, read without ever resolving a name. */
public final class IpLiterals {
    private static final Pattern IPV4 = Pattern.compile("^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
            + "(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$");
    private static final Pattern IPV6 = Pattern.compile("^[0-9A-Fa-f:.]{2,45}$");

    private IpLiterals() {}

    /**
     * The canonical text of an IP literal (IPv4 dotted quad, or IPv6 with or without brackets;
     * an IPv4-mapped IPv6 address becomes its IPv4 form), or null for anything else. Names are
     * never resolved: only literals reach {@link InetAddress}, which then does no lookup.
     */
    public static String canonical(String text) {
        if (text == null) {
            return null;
        }
        String t = text.startsWith("[") && text.endsWith("]") ? text.substring(1, text.length() - 1) : text;
        if (!IPV4.matcher(t).matches() && !(t.indexOf(':') >= 0 && IPV6.matcher(t).matches())) {
            return null;
        }
        try {
            InetAddress a = InetAddress.getByName(t);
            String s = a.getHostAddress();
            return a instanceof Inet6Address ? s.replaceFirst("%.*$", "") : s;
        } catch (UnknownHostException e) {
            return null;
        }
    }
}
