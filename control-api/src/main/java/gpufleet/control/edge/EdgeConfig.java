package gpufleet.control.edge;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import gpufleet.control.config.EdgeSettings;
import gpufleet.control.http.SecurityHeaders;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Caddy's whole configuration for a set of routes, as JSON for its admin API: one HTTPS server;
 * per public name a reverse proxy to the route's ready upstreams, or a 503 that says why there is
 * none; 404 for any other name. Pure: the same routes always give the same document.
 */
public final class EdgeConfig {
    /**
     * A route with the upstreams ("address:port") that can take requests now. Caddy reads
     * {@code {...}} in its configuration as placeholders (environment variables, files), so
     * nothing reaches it that is not plainly a name or an address: the last of the checks the API
     * makes when the route is stored.
     */
    public record Route(String hostname, String tenant, String namespace, String name, List<String> upstreams) {
        private static final Pattern NAME = Pattern.compile("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$");
        private static final Pattern UPSTREAM = Pattern.compile("^([0-9]{1,3}(\\.[0-9]{1,3}){3}|\\[[0-9a-fA-F:.]+\\]):[0-9]{1,5}$");

        public Route {
            for (String s : List.of(hostname, tenant, namespace, name)) {
                if (s == null || !NAME.matcher(s).matches()) {
                    throw new IllegalArgumentException("not a name: '" + s + "'");
                }
            }
            upstreams = List.copyOf(upstreams);
            for (String u : upstreams) {
                if (!UPSTREAM.matcher(u).matches()) {
                    throw new IllegalArgumentException("not an address:port: '" + u + "'");
                }
            }
        }
    }

    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private EdgeConfig() {}

    public static ObjectNode of(EdgeSettings edge, String adminListen, List<Route> routes) {
        ObjectNode root = F.objectNode();
        root.putObject("admin").put("listen", adminListen);
        ObjectNode apps = root.putObject("apps");
        ObjectNode server = apps.putObject("http").putObject("servers").putObject("gpufleet");
        server.putArray("listen").add(":" + edge.httpsPort());
        ArrayNode handlers = server.putArray("routes");
        if (edge.apiName() != null) {
            // The control-api's own site, when this Caddy fronts it too.
            ObjectNode route = handlers.addObject();
            route.putArray("match").addObject().putArray("host").add(edge.apiName());
            ObjectNode handle = route.putArray("handle").addObject().put("handler", "reverse_proxy");
            ArrayNode upstreams = handle.putArray("upstreams");
            edge.apiUpstreams().forEach(u -> upstreams.addObject().put("dial", u));
            // This site is HTTPS only (the dashboard's sign-in and every token go through it), so
            // browsers are told to come back over HTTPS alone. Set, not added: the control-api
            // sends the same header when it sees X-Forwarded-Proto https, and one copy is enough.
            handle.putObject("headers").putObject("response").putObject("set")
                    .putArray("Strict-Transport-Security").add(SecurityHeaders.HSTS);
            route.put("terminal", true);
        }
        for (Route r : routes) {
            ObjectNode route = handlers.addObject();
            route.putArray("match").addObject().putArray("host").add(r.hostname());
            ObjectNode handle = route.putArray("handle").addObject();
            if (r.upstreams().isEmpty()) {
                staticResponse(handle, 503, "no ready pod behind service " + r.namespace() + "/" + r.name()
                        + " of tenant " + r.tenant() + "\n");
            } else {
                handle.put("handler", "reverse_proxy");
                ArrayNode upstreams = handle.putArray("upstreams");
                r.upstreams().forEach(u -> upstreams.addObject().put("dial", u));
                keepAlive(handle);
                // A target that refuses a connection is skipped for a while; the request tries another.
                ObjectNode lb = handle.putObject("load_balancing");
                lb.put("try_duration", "2s");
                handle.putObject("health_checks").putObject("passive").put("fail_duration", "10s");
            }
            route.put("terminal", true);
        }
        staticResponse(handlers.addObject().putArray("handle").addObject(), 404, "no service is published at this name\n");
        server.putArray("tls_connection_policies").addObject();
        ObjectNode automatic = server.putObject("automatic_https");
        ObjectNode tls = apps.putObject("tls");
        String wildcard = "*." + edge.domain();
        switch (edge.tls()) {
            case "files" -> {
                automatic.put("disable", true);
                ObjectNode file = tls.putObject("certificates").putArray("load_files").addObject();
                file.put("certificate", edge.certFile().toString());
                file.put("key", edge.keyFile().toString());
            }
            case "acme" -> {
                // One certificate per public name, obtained as routes appear (HTTP-01 / TLS-ALPN-01).
                automatic.put("disable_redirects", true);
                ObjectNode policy = tls.putObject("automation").putArray("policies").addObject();
                ObjectNode issuer = policy.putArray("issuers").addObject().put("module", "acme");
                if (edge.acmeEmail() != null) {
                    issuer.put("email", edge.acmeEmail());
                }
            }
            default -> {
                // Caddy's local CA signs one wildcard certificate: every name, known or not, gets TLS.
                automatic.put("disable", true);
                ArrayNode automate = tls.putObject("certificates").putArray("automate").add(wildcard);
                ObjectNode policy = tls.putObject("automation").putArray("policies").addObject();
                ArrayNode subjects = policy.putArray("subjects").add(wildcard);
                if (edge.apiName() != null && !covered(edge.apiName(), edge.domain())) {
                    automate.add(edge.apiName());
                    subjects.add(edge.apiName());
                }
                policy.putArray("issuers").addObject().put("module", "internal");
                // Clients of the edge are elsewhere; adding the CA to this machine's trust store only
                // changes the machine, and costs seconds of update-ca-certificates on every load.
                apps.putObject("pki").putObject("certificate_authorities").putObject("local").put("install_trust", false);
            }
        }
        return root;
    }

    /** True when the wildcard for {@code domain} covers {@code name} (exactly one label more). */
    static boolean covered(String name, String domain) {
        return name.endsWith("." + domain) && !name.substring(0, name.length() - domain.length() - 1).contains(".");
    }

    /**
     * Connections to a tenant's pods stay open between requests. Caddy keeps 32 idle per upstream
     * unless told otherwise; past 32 requests at once every extra one opens a TCP connection to the
     * pod and closes it after the answer (the edge benchmark's route at 64 client connections:
     * 2,651 connects in 10 s against 141 with room for 128, docs/benchmarks.md). Written out whole:
     * Caddy 2.6 drops its defaults for the fields left out once any is set (an idle connection would
     * then never time out).
     */
    static final int IDLE_CONNECTIONS_PER_UPSTREAM = 128;

    private static void keepAlive(ObjectNode handle) {
        ObjectNode keepAlive = handle.putObject("transport").put("protocol", "http").putObject("keep_alive");
        keepAlive.put("enabled", true);
        keepAlive.put("probe_interval", "30s");
        keepAlive.put("idle_timeout", "2m");
        keepAlive.put("max_idle_conns_per_host", IDLE_CONNECTIONS_PER_UPSTREAM);
    }

    private static void staticResponse(ObjectNode handle, int status, String body) {
        handle.put("handler", "static_response");
        handle.put("status_code", status);
        handle.putObject("headers").putArray("Content-Type").add("text/plain; charset=utf-8");
        handle.put("body", body);
    }
}
