package gpufleet.common.stream;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Short-lived tickets for one stream: HMAC-SHA256 over the operation, the workload and an expiry,
 * keyed by a secret the host-agent generated and gave the control-api over its authenticated
 * channel. A ticket opens that operation on that workload only, and only until it expires.
 */
public final class Tickets {
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

    private Tickets() {}

    public static String newKey() {
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        return B64.encodeToString(key);
    }

    public static String sign(String key, String op, String workload, Instant expires) {
        long exp = expires.getEpochSecond();
        return exp + "." + mac(key, op, workload, exp);
    }

    /** Null when the ticket is good for this operation on this workload now, else why not. */
    public static String check(String key, String ticket, String op, String workload, Instant now) {
        if (ticket == null || ticket.indexOf('.') < 1) {
            return "no stream ticket";
        }
        long exp;
        try {
            exp = Long.parseLong(ticket.substring(0, ticket.indexOf('.')));
        } catch (NumberFormatException e) {
            return "malformed stream ticket";
        }
        byte[] want = mac(key, op, workload, exp).getBytes(StandardCharsets.US_ASCII);
        byte[] got = ticket.substring(ticket.indexOf('.') + 1).getBytes(StandardCharsets.US_ASCII);
        if (!MessageDigest.isEqual(want, got)) {
            return "stream ticket is not valid for " + op + " on workload " + workload;
        }
        if (now.getEpochSecond() > exp) {
            return "stream ticket expired";
        }
        return null;
    }

    private static String mac(String key, String op, String workload, long exp) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key.getBytes(StandardCharsets.US_ASCII), "HmacSHA256"));
            return B64.encodeToString(mac.doFinal((op + "\n" + workload + "\n" + exp).getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }
}
