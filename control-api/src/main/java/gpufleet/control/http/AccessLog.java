package gpufleet.control.http;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * One line per request on the logger {@code gpufleet.access}, each with a request id: the
 * caller's X-Request-Id when it is well-formed (a proxy's or the tenant-agent's, so one id
 * follows a request across programs), else a new one. The id is answered in X-Request-Id and put
 * in the MDC, so the request's other log lines carry it too. A malformed id is replaced, never
 * refused: it is the caller's label, not its input. Everything logged from the request is
 * tenant-controlled, so nothing of it reaches the line unescaped.
 */
public final class AccessLog {
    public static final String HEADER = "X-Request-Id";
    public static final String MDC_KEY = "requestId";
    /** What ids proxies generate (UUIDs, hex, base64url) fits; no spaces, quotes or control characters. */
    private static final Pattern WELL_FORMED = Pattern.compile("[A-Za-z0-9._:+/=-]{1,128}");
    /**
     * The fleet's background traffic: every host heartbeats each 10 s and long-polls its
     * workloads, 20,000 lines a second at 100,000 hosts. Logged at debug when they succeed.
     */
    private static final Set<String> ROUTINE = Set.of("/v1/hosts/{id}/heartbeat", "/v1/hosts/{id}/workloads");
    private static final int MAX_PATH_CHARS = 200;
    private static final Logger log = LoggerFactory.getLogger("gpufleet.access");
    private static final String START = "gpufleet.accessStart";

    private AccessLog() {}

    public static void install(RoutesConfig routes) {
        routes.before(ctx -> {
            ctx.attribute(START, System.nanoTime());
            String id = requestId(ctx.header(HEADER));
            ctx.attribute(MDC_KEY, id);
            ctx.header(HEADER, id);
            MDC.put(MDC_KEY, id);
        });
        routes.after(AccessLog::record);
    }

    /** The caller's id when well-formed, else a new one. */
    static String requestId(String given) {
        return given != null && WELL_FORMED.matcher(given).matches() ? given : UUID.randomUUID().toString();
    }

    private static void record(Context ctx) {
        try {
            Long start = ctx.attribute(START);
            String id = ctx.attribute(MDC_KEY);
            if (start == null || id == null) {
                return;
            }
            int status = ctx.statusCode();
            var endpoint = ctx.endpoints().matchedHttpEndpoint();
            String route = endpoint == null ? null : endpoint.path;
            boolean routine = status < 400 && route != null && ROUTINE.contains(route);
            if (routine ? !log.isDebugEnabled() : !log.isInfoEnabled()) {
                return;
            }
            // The id is the MDC's (still set here): the text format appends it, the JSON one has it as a field.
            String line = "{} {} {} {} ms";
            Object[] args = {escape(ctx.method().toString(), 16), escape(ctx.path(), MAX_PATH_CHARS), status,
                    String.format("%.1f", (System.nanoTime() - start) / 1e6)};
            if (routine) {
                log.debug(line, args);
            } else {
                log.info(line, args);
            }
        } finally {
            MDC.remove(MDC_KEY);
        }
    }

    /**
     * Control and non-ASCII characters (and the backslash) written as a Java escape, a backslash,
     * "u" and four hex digits, and at most {@code max} characters: a value can never start a line
     * of its own.
     */
    static String escape(String s, int max) {
        StringBuilder out = new StringBuilder(Math.min(s.length(), max) + 8);
        for (int i = 0; i < s.length() && out.length() < max; i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c >= 0x7f || c == '\\') {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        if (out.length() >= max && s.length() > max) {
            out.append('…');
        }
        return out.toString();
    }
}
