package gpufleet.common.stream;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Tickets for one stream request: {@code expiry.nonce.mac}, an HMAC-SHA256 over every field of the
 * request (operation, workload, container, the exact command, port, log options, flags), a random
 * nonce and a short expiry, keyed by a secret the host-agent generated and gave the control-api
 * over its authenticated channel. A ticket opens exactly the request it was made for, once (the
 * host remembers nonces, see {@link TicketGate}), and only until it expires.
 */
public final class Tickets {
    /** How long a ticket lives: long enough for a connect on a busy host, short for a stolen one. */
    public static final Duration LIFE = Duration.ofSeconds(15);
    /** Anything signed to live longer is refused: a host must not have to remember a nonce for long. */
    static final Duration MAX_LIFE = Duration.ofSeconds(60);
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    private static final SecureRandom RANDOM = new SecureRandom();

    private Tickets() {}

    public static String newKey() {
        byte[] key = new byte[32];
        RANDOM.nextBytes(key);
        return B64.encodeToString(key);
    }

    /** A ticket for exactly {@code req} (its own ticket field ignored) with a fresh nonce. */
    public static String sign(String key, StreamRequest req, Instant expires) {
        byte[] nonce = new byte[16];
        RANDOM.nextBytes(nonce);
        String head = expires.getEpochSecond() + "." + B64.encodeToString(nonce);
        return head + "." + mac(key, head, req);
    }

    /** A checked ticket: its nonce and expiry, or why it was refused ({@code refusal} non-null). */
    public record Verdict(String refusal, String nonce, long expiresEpochSecond) {
        static Verdict refused(String why) {
            return new Verdict(why, null, 0);
        }
    }

    /**
     * Whether {@code req.ticket()} was signed with {@code key} for this very request and is still
     * valid at {@code now}. Stateless: a second use is {@link TicketGate}'s to refuse.
     */
    public static Verdict check(String key, StreamRequest req, Instant now) {
        String ticket = req.ticket();
        if (ticket == null || ticket.isEmpty()) {
            return Verdict.refused("no stream ticket");
        }
        String[] parts = ticket.split("\\.", -1);
        long exp;
        try {
            exp = parts.length == 3 && !parts[1].isEmpty() ? Long.parseLong(parts[0]) : -1;
        } catch (NumberFormatException e) {
            exp = -1;
        }
        if (exp < 0) {
            return Verdict.refused("malformed stream ticket");
        }
        byte[] want = mac(key, parts[0] + "." + parts[1], req).getBytes(StandardCharsets.US_ASCII);
        if (!MessageDigest.isEqual(want, parts[2].getBytes(StandardCharsets.US_ASCII))) {
            return Verdict.refused("stream ticket does not match this request (" + req.op() + " on workload " + scope(req)
                    + "): it was signed for another request or with another key");
        }
        if (now.getEpochSecond() > exp) {
            return Verdict.refused("stream ticket expired");
        }
        if (exp - now.getEpochSecond() > MAX_LIFE.toSeconds()) {
            return Verdict.refused("stream ticket lives longer than " + MAX_LIFE.toSeconds() + " s");
        }
        return new Verdict(null, parts[1], exp);
    }

    /** What the request is about: its workload, or the workloads a stats request names. */
    public static String scope(StreamRequest req) {
        return StreamRequest.STATS.equals(req.op()) && req.workloads() != null
                ? String.join(",", req.workloads()) : String.valueOf(req.workload());
    }

    private static String mac(String key, String head, StreamRequest req) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key.getBytes(StandardCharsets.US_ASCII), "HmacSHA256"));
            mac.update(head.getBytes(StandardCharsets.US_ASCII));
            return B64.encodeToString(mac.doFinal(bound(req)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }

    /**
     * Every field of the request but the ticket, each length-prefixed (null apart from empty), so
     * that no two different requests share a byte string: ["a b"] and ["a", "b"] differ.
     */
    static byte[] bound(StreamRequest r) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            for (Object field : List.of(nullable(r.op()), nullable(r.workload()), nullable(r.namespace()), nullable(r.pod()),
                    nullable(r.container()), nullable(r.command()), r.stdin(), r.stdout(), r.stderr(), r.tty(), r.follow(),
                    nullable(r.tailLines()), nullable(r.sinceSeconds()), nullable(r.sinceTime()), r.timestamps(),
                    r.previous(), nullable(r.limitBytes()), nullable(r.port()), nullable(r.workloads()))) {
                write(out, field);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    private static final Object NULL = new Object();

    private static Object nullable(Object o) {
        return o == null ? NULL : o;
    }

    private static void write(DataOutputStream out, Object field) throws IOException {
        if (field == NULL) {
            out.writeByte('n');
        } else if (field instanceof List<?> list) {
            out.writeByte('l');
            out.writeInt(list.size());
            for (Object o : list) {
                write(out, nullable(o));
            }
        } else {
            byte[] b = String.valueOf(field).getBytes(StandardCharsets.UTF_8);
            out.writeByte(field instanceof Boolean ? 'b' : field instanceof Number ? 'i' : 's');
            out.writeInt(b.length);
            out.write(b);
        }
    }
}
