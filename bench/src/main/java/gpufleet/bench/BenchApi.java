package gpufleet.bench;

import gpufleet.control.ControlApi;
import gpufleet.control.config.ControlApiConfig;
import gpufleet.control.config.SealKey;
import java.util.HashMap;
import java.util.Map;

/** A control-api in this JVM on a fresh database, configured as a benchmark needs it. */
final class BenchApi {
    static final String OPERATOR_TOKEN = "gfo_bench-operator-token-000000000000";

    private BenchApi() {}

    /** Drops and creates {@code database}, then starts a control-api on it with {@link #config} and the overrides. */
    static ControlApi start(Db db, String database, Map<String, String> overrides) throws Exception {
        db.recreate(database);
        Map<String, String> v = config(db, database);
        v.putAll(overrides);
        return ControlApi.start(ControlApiConfig.from(v));
    }

    /** The control-api as production runs it (its defaults), but for where its database is, its ports and the operator token. */
    static Map<String, String> config(Db db, String database) {
        Map<String, String> v = new HashMap<>(ControlApiConfig.DEFAULTS);
        v.put(SealKey.FILE_VARIABLE, Db.sealKeyFile().toString());
        v.put("GPUFLEET_DB_URL", db.url(database));
        v.put("GPUFLEET_DB_USER", db.user());
        v.put("GPUFLEET_DB_PASSWORD", db.password());
        v.put("GPUFLEET_LISTEN", "127.0.0.1:0");
        v.put("GPUFLEET_METRICS_LISTEN", "127.0.0.1:0"); // beside a running dev/run.sh
        v.put("GPUFLEET_OPERATOR_TOKEN", OPERATOR_TOKEN);
        return v;
    }

    /** Options written as --name=value; anything else is refused with the usage. */
    static Map<String, String> options(String[] args, String usage) {
        Map<String, String> m = new HashMap<>();
        for (String a : args) {
            if (!a.startsWith("--") || !a.contains("=")) {
                throw new IllegalArgumentException("options look like " + usage + "; got " + a);
            }
            m.put(a.substring(2, a.indexOf('=')), a.substring(a.indexOf('=') + 1));
        }
        return m;
    }
}
