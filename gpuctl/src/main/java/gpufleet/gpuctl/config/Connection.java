package gpufleet.gpuctl.config;

import gpufleet.gpuctl.Exit;
import gpufleet.gpuctl.Failure;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Where gpuctl connects and with which token. Each comes from the first that gives it: the flag
 * (--server, --token), the environment (GPUCTL_SERVER, GPUCTL_TOKEN), then the context named by
 * --context or the config file's current context.
 */
public record Connection(URI server, String token) {
    public static final String DEFAULT_CONFIG = ".gpuctl/config";

    /** The config file: --config, else GPUCTL_CONFIG, else ~/.gpuctl/config. */
    public static Path configPath(String flag, Map<String, String> env) {
        if (flag != null) {
            return Path.of(flag);
        }
        if (env.get("GPUCTL_CONFIG") != null && !env.get("GPUCTL_CONFIG").isBlank()) {
            return Path.of(env.get("GPUCTL_CONFIG"));
        }
        String home = env.getOrDefault("HOME", System.getProperty("user.home"));
        return Path.of(home).resolve(DEFAULT_CONFIG);
    }

    public static Connection resolve(String serverFlag, String tokenFlag, String contextFlag, ConfigFile config,
                                     Map<String, String> env) {
        ConfigFile.Context context = null;
        String contextName = contextFlag != null ? contextFlag : config.currentContext().orElse(null);
        if (contextName != null) {
            context = config.context(contextName).orElseThrow(() -> new Failure(Exit.USAGE,
                    "context " + contextName + " is not in " + config.path() + " (gpuctl config get-contexts lists them)"));
        }
        String server = first(serverFlag, env.get("GPUCTL_SERVER"), context == null ? null : context.server());
        String token = first(tokenFlag, env.get("GPUCTL_TOKEN"), context == null ? null : context.token());
        if (server == null) {
            throw new Failure(Exit.USAGE, "no control-api to talk to: give --server, set GPUCTL_SERVER, "
                    + "or add a context with gpuctl config set-context");
        }
        if (token == null) {
            throw new Failure(Exit.UNAUTHORIZED, "no operator token: give --token, set GPUCTL_TOKEN, "
                    + "or add one to the context with gpuctl config set-context");
        }
        return new Connection(uri(server), token);
    }

    private static URI uri(String server) {
        try {
            URI u = new URI(server.endsWith("/") ? server : server + "/");
            if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme()) || u.getHost() == null) {
                throw new URISyntaxException(server, "expected http://host:port or https://host");
            }
            return u;
        } catch (URISyntaxException e) {
            throw new Failure(Exit.USAGE, "server '" + server + "' is not a URL: expected http://host:port or https://host");
        }
    }

    private static String first(String... values) {
        for (String v : values) {
            if (v != null && !v.isBlank()) {
                return v;
            }
        }
        return null;
    }
}
