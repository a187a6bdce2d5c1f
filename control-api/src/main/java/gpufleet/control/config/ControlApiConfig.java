package gpufleet.control.config;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * Everything the control-api needs, read from environment variables (GPUFLEET_*) over an
 * optional properties file with the same keys. Checked as a whole at start: every problem is
 * named in one message.
 */
public record ControlApiConfig(
        String dbUrl,
        String dbUser,
        String dbPassword,
        int dbPoolSize,
        String listenHost,
        int listenPort,
        Duration heartbeatGrace,
        Duration lostAfter,
        Duration livenessInterval,
        Duration placementRetry,
        long maxBodyBytes,
        String operatorToken,
        QuotaSettings quotas,
        EdgeSettings edge,
        SealKey sealKey,
        InetSocketAddress metricsListen,
        int usageRetentionMonths) {

    public static final Map<String, String> DEFAULTS = withSections(Map.of(
            "GPUFLEET_DB_URL", "jdbc:postgresql://127.0.0.1:5432/gpufleet",
            "GPUFLEET_DB_USER", "gpufleet",
            "GPUFLEET_DB_POOL_SIZE", "16",
            "GPUFLEET_LISTEN", "127.0.0.1:8080",
            "GPUFLEET_METRICS_LISTEN", "127.0.0.1:9464",
            "GPUFLEET_HEARTBEAT_GRACE", "40s",
            "GPUFLEET_LOST_AFTER", "5m",
            "GPUFLEET_LIVENESS_INTERVAL", "5s",
            "GPUFLEET_PLACEMENT_RETRY", "2s",
            "GPUFLEET_MAX_BODY_BYTES", "1048576"));

    private static Map<String, String> withSections(Map<String, String> base) {
        Map<String, String> all = new HashMap<>(base);
        all.putAll(EdgeSettings.DEFAULTS);
        all.putAll(QuotaSettings.DEFAULTS);
        // A year of bills plus a month to dispute the last one (docs/operators.md, Metering).
        all.put("GPUFLEET_USAGE_RETENTION_MONTHS", "13");
        return Map.copyOf(all);
    }

    /** Reads the file named by GPUFLEET_CONFIG (if any), then the environment on top. */
    public static ControlApiConfig fromEnvironment(Map<String, String> env) {
        Map<String, String> values = new HashMap<>(DEFAULTS);
        String file = env.get("GPUFLEET_CONFIG");
        if (file != null && !file.isBlank()) {
            values.putAll(readFile(Path.of(file)));
        }
        env.forEach((key, value) -> {
            if (key.startsWith("GPUFLEET_")) {
                values.put(key, value);
            }
        });
        return from(values);
    }

    public static ControlApiConfig from(Map<String, String> values) {
        Reader r = new Reader(values);
        String[] listen = r.text("GPUFLEET_LISTEN").split(":", 2);
        int port = -1;
        if (listen.length != 2) {
            r.problems.add("GPUFLEET_LISTEN: '" + values.get("GPUFLEET_LISTEN") + "' must be host:port, e.g. 0.0.0.0:8080");
        } else {
            port = r.integer("GPUFLEET_LISTEN", listen[1], 0, 65535);
        }
        ControlApiConfig config = new ControlApiConfig(
                r.text("GPUFLEET_DB_URL"),
                r.text("GPUFLEET_DB_USER"),
                values.getOrDefault("GPUFLEET_DB_PASSWORD", ""),
                r.integer("GPUFLEET_DB_POOL_SIZE", values.get("GPUFLEET_DB_POOL_SIZE"), 2, 500),
                listen[0],
                port,
                r.duration("GPUFLEET_HEARTBEAT_GRACE"),
                r.duration("GPUFLEET_LOST_AFTER"),
                r.duration("GPUFLEET_LIVENESS_INTERVAL"),
                r.duration("GPUFLEET_PLACEMENT_RETRY"),
                r.integer("GPUFLEET_MAX_BODY_BYTES", values.get("GPUFLEET_MAX_BODY_BYTES"), 1024, 64 << 20),
                values.get("GPUFLEET_OPERATOR_TOKEN"),
                QuotaSettings.read(values, r.problems),
                EdgeSettings.read(values, r.problems),
                r.sealKey(),
                r.listen("GPUFLEET_METRICS_LISTEN"),
                r.integer("GPUFLEET_USAGE_RETENTION_MONTHS", values.get("GPUFLEET_USAGE_RETENTION_MONTHS"), 1, 120));
        if (config.dbUrl() != null && !config.dbUrl().startsWith("jdbc:postgresql:")) {
            r.problems.add("GPUFLEET_DB_URL: '" + config.dbUrl() + "' is not a PostgreSQL JDBC URL (jdbc:postgresql://host:5432/db)");
        }
        if (config.heartbeatGrace() != null && config.lostAfter() != null
                && config.lostAfter().compareTo(config.heartbeatGrace()) <= 0) {
            r.problems.add("GPUFLEET_LOST_AFTER (" + values.get("GPUFLEET_LOST_AFTER")
                    + ") must be longer than GPUFLEET_HEARTBEAT_GRACE (" + values.get("GPUFLEET_HEARTBEAT_GRACE") + ")");
        }
        if (config.operatorToken() != null && config.operatorToken().length() < 24) {
            r.problems.add("GPUFLEET_OPERATOR_TOKEN: must be at least 24 characters");
        }
        if (!r.problems.isEmpty()) {
            throw new IllegalArgumentException("invalid control-api configuration:\n  - " + String.join("\n  - ", r.problems));
        }
        return config;
    }

    public ControlApiConfig withListenPort(int port) {
        return new ControlApiConfig(dbUrl, dbUser, dbPassword, dbPoolSize, listenHost, port, heartbeatGrace,
                lostAfter, livenessInterval, placementRetry, maxBodyBytes, operatorToken, quotas, edge, sealKey,
                metricsListen, usageRetentionMonths);
    }

    private static Map<String, String> readFile(Path path) {
        Properties props = new Properties();
        try (InputStream in = Files.newInputStream(path)) {
            props.load(in);
        } catch (IOException e) {
            throw new IllegalArgumentException("GPUFLEET_CONFIG: cannot read " + path + ": " + e.getMessage(), e);
        }
        Map<String, String> map = new HashMap<>();
        props.forEach((k, v) -> map.put(k.toString(), v.toString().trim()));
        return map;
    }

    /** Parses values and collects every problem instead of stopping at the first. */
    private static final class Reader {
        final Map<String, String> values;
        final List<String> problems = new ArrayList<>();

        Reader(Map<String, String> values) {
            this.values = values;
        }

        String text(String key) {
            String value = values.get(key);
            if (value == null || value.isBlank()) {
                problems.add(key + ": is required");
                return "";
            }
            return value.trim();
        }

        int integer(String key, String value, int min, int max) {
            try {
                int n = Integer.parseInt(value == null ? "" : value.trim());
                if (n < min || n > max) {
                    problems.add(key + ": " + n + " is outside " + min + ".." + max);
                }
                return n;
            } catch (NumberFormatException e) {
                problems.add(key + ": '" + value + "' is not a whole number");
                return min;
            }
        }

        /** The operator's sealing key; without it the control-api does not start (docs/operators.md). */
        SealKey sealKey() {
            String file = values.get(SealKey.FILE_VARIABLE);
            if (file == null || file.isBlank()) {
                problems.add(SealKey.FILE_VARIABLE + ": is required: the file holding the operator's sealing key, which"
                        + " encrypts workload secrets in the database; make one with: " + SealKey.HOW_TO_MAKE
                        + " and set " + SealKey.FILE_VARIABLE + " to its path");
                return null;
            }
            String old = values.get(SealKey.OLD_FILE_VARIABLE);
            try {
                return SealKey.read(Path.of(file.trim()), old == null || old.isBlank() ? null : Path.of(old.trim()));
            } catch (IllegalArgumentException e) {
                problems.add(e.getMessage());
                return null;
            }
        }

        /** host:port, unresolved: the server binds it at start and says then if it cannot. */
        InetSocketAddress listen(String key) {
            String value = text(key);
            int colon = value.lastIndexOf(':');
            if (colon <= 0) {
                problems.add(key + ": '" + value + "' must be host:port, e.g. 127.0.0.1:9464");
                return null;
            }
            return InetSocketAddress.createUnresolved(value.substring(0, colon), integer(key, value.substring(colon + 1), 0, 65535));
        }

        Duration duration(String key) {
            String value = text(key);
            try {
                return Durations.parse(value);
            } catch (IllegalArgumentException e) {
                problems.add(key + ": " + e.getMessage());
                return null;
            }
        }
    }
}
