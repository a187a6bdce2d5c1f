package gpufleet.tenant.kubelet;

import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.api.model.authentication.UserInfo;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReview;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/**
 * Who calls the kubelet API and whether they may, decided as the kubelet decides: a client
 * certificate the cluster CA signed (already verified by TLS) names the user (CN) and groups (O);
 * otherwise a bearer token is asked about with a TokenReview. The user is then authorized with a
 * SubjectAccessReview on the node's {@code nodes/proxy|log|stats|metrics} subresource. Answers are
 * cached for the kubelet's default times, so a metrics scrape is not two API calls.
 */
final class KubeletAuth {
    static final Duration TOKEN_TTL = Duration.ofMinutes(2);
    static final Duration ALLOWED_TTL = Duration.ofMinutes(5);
    static final Duration DENIED_TTL = Duration.ofSeconds(30);
    static final int MAX_CACHED = 1024;

    /** An authenticated caller. */
    record User(String name, String uid, List<String> groups, Map<String, List<String>> extra) {}

    /** What the caller asks to do, in the API server's words. */
    record Attributes(String verb, String subresource) {}

    private record Cached<T>(T value, Instant until) {}

    private final KubernetesClient k8s;
    private final String nodeName;
    private final Clock clock;
    private final Map<String, Cached<User>> tokens = new ConcurrentHashMap<>();
    private final Map<String, Cached<String>> decisions = new ConcurrentHashMap<>();

    KubeletAuth(KubernetesClient k8s, String nodeName, Clock clock) {
        this.k8s = k8s;
        this.nodeName = nodeName;
        this.clock = clock;
    }

    /** The caller, or null when neither a client certificate nor a valid bearer token came with the request. Blocks. */
    User authenticate(X509Certificate clientCertificate, String authorization) {
        if (clientCertificate != null) {
            return fromCertificate(clientCertificate);
        }
        if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return null;
        }
        String token = authorization.substring(7).trim();
        if (token.isEmpty()) {
            return null;
        }
        Cached<User> hit = tokens.get(token);
        if (hit != null && hit.until().isAfter(clock.instant())) {
            return hit.value();
        }
        TokenReview review = k8s.tokenReviews().create(new TokenReviewBuilder().withNewSpec().withToken(token).endSpec().build());
        User user = null;
        if (review.getStatus() != null && Boolean.TRUE.equals(review.getStatus().getAuthenticated())) {
            UserInfo u = review.getStatus().getUser();
            user = new User(u.getUsername(), u.getUid(), u.getGroups() == null ? List.of() : List.copyOf(u.getGroups()),
                    u.getExtra() == null ? Map.of() : Map.copyOf(u.getExtra()));
        }
        tokens.put(token, new Cached<>(user, clock.instant().plus(TOKEN_TTL)));
        prune(tokens);
        return user;
    }

    /** Null when {@code user} may do it; otherwise the message of the 403, as the kubelet words it. Blocks. */
    String authorize(User user, Attributes attrs) {
        String key = user.name() + "\u0000" + user.groups() + "\u0000" + attrs.verb() + "\u0000" + attrs.subresource();
        Cached<String> hit = decisions.get(key);
        if (hit != null && hit.until().isAfter(clock.instant())) {
            return hit.value();
        }
        SubjectAccessReview review = k8s.authorization().v1().subjectAccessReview().create(new SubjectAccessReviewBuilder()
                .withNewSpec().withUser(user.name()).withUid(user.uid()).withGroups(user.groups()).withExtra(user.extra())
                .withNewResourceAttributes().withGroup("").withVersion("v1").withResource("nodes")
                .withSubresource(attrs.subresource()).withName(nodeName).withVerb(attrs.verb()).endResourceAttributes()
                .endSpec().build());
        boolean allowed = review.getStatus() != null && Boolean.TRUE.equals(review.getStatus().getAllowed());
        String denial = null;
        if (!allowed) {
            denial = "Forbidden (user=" + user.name() + ", verb=" + attrs.verb() + ", resource=nodes, subresource="
                    + attrs.subresource() + ")";
            String reason = review.getStatus() == null ? null : review.getStatus().getReason();
            if (reason != null && !reason.isBlank()) {
                denial += ": " + reason;
            }
        }
        decisions.put(key, new Cached<>(denial, clock.instant().plus(allowed ? ALLOWED_TTL : DENIED_TTL)));
        prune(decisions);
        return denial;
    }

    /** Drops expired answers once a cache grows, so many callers over days do not pile up. */
    private void prune(Map<String, ? extends Cached<?>> cache) {
        if (cache.size() > MAX_CACHED) {
            Instant now = clock.instant();
            cache.values().removeIf(c -> !c.until().isAfter(now));
        }
    }

    /** The request's attributes as the kubelet derives them from method and path. */
    static Attributes attributes(String method, String path) {
        String verb = switch (method) {
            case "POST" -> "create";
            case "GET", "HEAD" -> "get";
            case "PUT" -> "update";
            case "PATCH" -> "patch";
            case "DELETE" -> "delete";
            default -> "";
        };
        String sub = "proxy";
        if (under(path, "/stats")) {
            sub = "stats";
        } else if (under(path, "/metrics")) {
            sub = "metrics";
        } else if (under(path, "/logs")) {
            sub = "log";
        }
        return new Attributes(verb, sub);
    }

    private static boolean under(String path, String prefix) {
        return path.equals(prefix) || path.startsWith(prefix + "/");
    }

    private static User fromCertificate(X509Certificate cert) {
        String name = null;
        List<String> groups = new ArrayList<>();
        try {
            for (Rdn rdn : new LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    name = rdn.getValue().toString();
                } else if (rdn.getType().equalsIgnoreCase("O")) {
                    groups.add(0, rdn.getValue().toString());
                }
            }
        } catch (InvalidNameException e) {
            return null;
        }
        return name == null || name.isEmpty() ? null : new User(name, "", List.copyOf(groups), Map.of());
    }
}
