package gpufleet.host.net;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An IPv4 network in CIDR form, parsed strictly: it is written into firewall rules, so nothing but
 * four decimal octets and a prefix length ever gets through.
 */
public record Ipv4Cidr(long base, int prefix) {
    private static final Pattern FORM = Pattern.compile("^([0-9]{1,3})\\.([0-9]{1,3})\\.([0-9]{1,3})\\.([0-9]{1,3})/([0-9]{1,2})$");

    /** Ranges a pod never needs: private, shared, loopback, link-local (cloud metadata), multicast and reserved. */
    public static final List<Ipv4Cidr> NOT_THE_INTERNET = parseAll(
            "0.0.0.0/8,10.0.0.0/8,100.64.0.0/10,127.0.0.0/8,169.254.0.0/16,172.16.0.0/12,192.0.0.0/24,"
                    + "192.168.0.0/16,198.18.0.0/15,224.0.0.0/4,240.0.0.0/4");

    public Ipv4Cidr {
        if (prefix < 0 || prefix > 32 || base < 0 || base > 0xFFFF_FFFFL || (base & ~mask(prefix) & 0xFFFF_FFFFL) != 0) {
            throw new IllegalArgumentException("not a network: " + base + "/" + prefix);
        }
    }

    public static Ipv4Cidr parse(String text) {
        Matcher m = FORM.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not an IPv4 network such as 10.0.0.0/8");
        }
        long base = 0;
        for (int i = 1; i <= 4; i++) {
            int octet = Integer.parseInt(m.group(i));
            if (octet > 255) {
                throw new IllegalArgumentException("'" + text + "' has an octet over 255");
            }
            base = (base << 8) | octet;
        }
        int prefix = Integer.parseInt(m.group(5));
        if (prefix > 32) {
            throw new IllegalArgumentException("'" + text + "' has a prefix length over 32");
        }
        if ((base & ~mask(prefix) & 0xFFFF_FFFFL) != 0) {
            throw new IllegalArgumentException("'" + text + "' has host bits set; did you mean " + new Ipv4Cidr(base & mask(prefix), prefix) + "?");
        }
        return new Ipv4Cidr(base, prefix);
    }

    /** A comma-separated list; blank gives none. */
    public static List<Ipv4Cidr> parseAll(String text) {
        List<Ipv4Cidr> all = new ArrayList<>();
        if (text == null || text.isBlank()) {
            return all;
        }
        for (String part : text.split(",")) {
            all.add(parse(part));
        }
        return List.copyOf(all);
    }

    private static long mask(int prefix) {
        return prefix == 0 ? 0 : (0xFFFF_FFFFL << (32 - prefix)) & 0xFFFF_FFFFL;
    }

    @Override
    public String toString() {
        return ((base >> 24) & 255) + "." + ((base >> 16) & 255) + "." + ((base >> 8) & 255) + "." + (base & 255) + "/" + prefix;
    }
}
