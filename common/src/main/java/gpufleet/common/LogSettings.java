package gpufleet.common;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.slf4j.LoggerFactory;

/**
 * Log levels from the environment, the same in all three programs: GPUFLEET_LOG_LEVEL for the
 * root ("info" by default) and GPUFLEET_LOG_LEVELS for single loggers
 * ("gpufleet.access=warn,org.eclipse.jetty=info"). GPUFLEET_LOG_FORMAT (text or json) is read by
 * each program's logback.xml; it is checked here, so a misspelt value stops the program with a
 * reason instead of silently logging nothing. Logback's own level parser turns any unknown word
 * into DEBUG, hence a parser of ours.
 */
public final class LogSettings {
    public static final String LEVEL = "GPUFLEET_LOG_LEVEL";
    public static final String LEVELS = "GPUFLEET_LOG_LEVELS";
    public static final String FORMAT = "GPUFLEET_LOG_FORMAT";
    private static final Set<String> LEVEL_NAMES = Set.of("trace", "debug", "info", "warn", "error", "off");
    private static final Set<String> FORMATS = Set.of("text", "json");
    private static final Pattern LOGGER = Pattern.compile("[A-Za-z_$][A-Za-z0-9_$]*(\\.[A-Za-z_$][A-Za-z0-9_$]*)*");

    private LogSettings() {}

    /** The levels the environment asks for, by logger name ("" for the root); throws naming every problem. */
    public static Map<String, Level> parse(Map<String, String> env) {
        List<String> problems = new ArrayList<>();
        Map<String, Level> out = new LinkedHashMap<>();
        String root = env.get(LEVEL);
        if (root != null && !root.isBlank()) {
            Level l = level(root, LEVEL, problems);
            if (l != null) {
                out.put("", l);
            }
        }
        String each = env.get(LEVELS);
        if (each != null && !each.isBlank()) {
            for (String item : each.split(",")) {
                String[] kv = item.split("=", 2);
                String name = kv[0].strip();
                if (kv.length != 2 || !LOGGER.matcher(name).matches()) {
                    problems.add(LEVELS + ": '" + shorten(item.strip()) + "' must be logger=level, e.g. gpufleet.access=warn");
                    continue;
                }
                Level l = level(kv[1], LEVELS + " (" + name + ")", problems);
                if (l != null) {
                    out.put(name, l);
                }
            }
        }
        String format = env.get(FORMAT);
        if (format != null && !FORMATS.contains(format)) {
            problems.add(FORMAT + ": '" + shorten(format) + "' must be text or json");
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("invalid log settings:\n  - " + String.join("\n  - ", problems));
        }
        return out;
    }

    /** Parses and sets the levels on logback's loggers; throws (changing nothing) when a setting is wrong. */
    public static void apply(Map<String, String> env) {
        Map<String, Level> levels = parse(env);
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return; // another backend: its own configuration rules
        }
        levels.forEach((name, level) -> {
            Logger logger = name.isEmpty() ? context.getLogger(Logger.ROOT_LOGGER_NAME) : context.getLogger(name);
            logger.setLevel(level);
        });
    }

    private static Level level(String raw, String what, List<String> problems) {
        String name = raw.strip().toLowerCase(Locale.ROOT);
        if (!LEVEL_NAMES.contains(name)) {
            problems.add(what + ": '" + shorten(raw.strip()) + "' is not a level (trace, debug, info, warn, error, off)");
            return null;
        }
        return Level.toLevel(name);
    }

    private static String shorten(String s) {
        String clean = s.replaceAll("\\p{Cntrl}", "?");
        return clean.length() > 60 ? clean.substring(0, 60) + "…" : clean;
    }
}
