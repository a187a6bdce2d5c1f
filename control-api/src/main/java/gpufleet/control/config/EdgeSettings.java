package gpufleet.control.config;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The Caddy edge: the domain public names end in, the Caddy admin API to keep in step with the
 * routes (none: no edge sync here), the HTTPS port, and where certificates come from.
 *
 * <ul>
 *   <li>{@code internal}: a wildcard certificate for {@code *.domain} from Caddy's own local CA
 *       (development and tests; clients need {@code curl -k} or the CA's root).</li>
 *   <li>{@code files}: the provider's wildcard certificate and key, read by Caddy from files.</li>
 *   <li>{@code acme}: one certificate per public name from an ACME CA (e.g. Let's Encrypt),
 *       obtained as routes appear; the edge must be reachable on ports 80 and 443.</li>
 * </ul>
 * The edge owns Caddy's whole configuration, so when the same Caddy also fronts the control-api,
 * {@code apiName} and {@code apiUpstreams} make that site part of it.
 */
public record EdgeSettings(String domain, URI adminUrl, int httpsPort, String tls, Path certFile, Path keyFile,
                           String acmeEmail, Duration syncInterval, String apiName, List<String> apiUpstreams) {
    static final Map<String, String> DEFAULTS = Map.of(
            "GPUFLEET_EDGE_DOMAIN", "fleet.localhost",
            "GPUFLEET_EDGE_HTTPS_PORT", "443",
            "GPUFLEET_EDGE_TLS", "internal",
            "GPUFLEET_EDGE_SYNC_INTERVAL", "1s");
    static final Set<String> TLS_MODES = Set.of("internal", "files", "acme");

    public boolean enabled() {
        return adminUrl != null;
    }

    /** The public name of a Service, as the seed has it: {@code ${service uid}-${tenant}.${domain}}. */
    public String hostname(String serviceUid, String tenant) {
        return serviceUid + "-" + tenant + "." + domain;
    }

    static EdgeSettings read(Map<String, String> v, List<String> problems) {
        String domain = v.get("GPUFLEET_EDGE_DOMAIN").trim().toLowerCase(java.util.Locale.ROOT);
        if (!domain.matches("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$")) {
            problems.add("GPUFLEET_EDGE_DOMAIN: '" + domain + "' is not a domain name with at least two labels (e.g. gpu.provider.example)");
        }
        URI admin = null;
        String url = v.get("GPUFLEET_EDGE_ADMIN_URL");
        if (url != null && !url.isBlank()) {
            try {
                admin = URI.create(url.trim().replaceAll("/+$", ""));
                if (!"http".equals(admin.getScheme()) || admin.getHost() == null) {
                    problems.add("GPUFLEET_EDGE_ADMIN_URL: '" + url + "' must be an http URL of Caddy's admin API, e.g. http://127.0.0.1:2019");
                }
            } catch (IllegalArgumentException e) {
                problems.add("GPUFLEET_EDGE_ADMIN_URL: '" + url + "' is not a URL");
            }
        }
        int port = 443;
        try {
            port = Integer.parseInt(v.get("GPUFLEET_EDGE_HTTPS_PORT").trim());
            if (port < 1 || port > 65535) {
                problems.add("GPUFLEET_EDGE_HTTPS_PORT: " + port + " is outside 1..65535");
            }
        } catch (NumberFormatException e) {
            problems.add("GPUFLEET_EDGE_HTTPS_PORT: '" + v.get("GPUFLEET_EDGE_HTTPS_PORT") + "' is not a whole number");
        }
        String tls = v.get("GPUFLEET_EDGE_TLS").trim();
        if (!TLS_MODES.contains(tls)) {
            problems.add("GPUFLEET_EDGE_TLS: '" + tls + "' must be internal, files or acme");
        }
        Path cert = path(v.get("GPUFLEET_EDGE_CERT_FILE"));
        Path key = path(v.get("GPUFLEET_EDGE_KEY_FILE"));
        if (tls.equals("files") && (cert == null || key == null)) {
            problems.add("GPUFLEET_EDGE_TLS=files needs GPUFLEET_EDGE_CERT_FILE and GPUFLEET_EDGE_KEY_FILE (the wildcard certificate for *."
                    + domain + " and its key, as paths on the edge host)");
        }
        String email = v.get("GPUFLEET_EDGE_ACME_EMAIL");
        String apiName = v.get("GPUFLEET_EDGE_API_NAME");
        apiName = apiName == null || apiName.isBlank() ? null : apiName.trim().toLowerCase(java.util.Locale.ROOT);
        List<String> apiUpstreams = List.of();
        String upstreams = v.get("GPUFLEET_EDGE_API_UPSTREAMS");
        if (upstreams != null && !upstreams.isBlank()) {
            apiUpstreams = java.util.Arrays.stream(upstreams.split(",")).map(String::trim).filter(x -> !x.isEmpty()).toList();
        }
        if (apiName != null && !apiName.matches("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")) {
            problems.add("GPUFLEET_EDGE_API_NAME: '" + apiName + "' is not a host name");
        }
        if (apiName != null && (apiUpstreams.isEmpty() || !apiUpstreams.stream().allMatch(u -> u.matches("^[^\\s/]+:[0-9]{1,5}$")))) {
            problems.add("GPUFLEET_EDGE_API_NAME needs GPUFLEET_EDGE_API_UPSTREAMS: the control-api replicas as host:port, comma-separated");
        }
        Duration interval = null;
        try {
            interval = Durations.parse(v.get("GPUFLEET_EDGE_SYNC_INTERVAL").trim());
        } catch (IllegalArgumentException e) {
            problems.add("GPUFLEET_EDGE_SYNC_INTERVAL: " + e.getMessage());
        }
        return new EdgeSettings(domain, admin, port, tls, cert, key, email == null || email.isBlank() ? null : email.trim(), interval,
                apiName, apiUpstreams);
    }

    private static Path path(String s) {
        return s == null || s.isBlank() ? null : Path.of(s.trim());
    }
}
