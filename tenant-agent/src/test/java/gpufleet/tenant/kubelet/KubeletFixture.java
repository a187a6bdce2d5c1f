package gpufleet.tenant.kubelet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;

/**
 * A kubelet API server on a free port over the {@link ProcessBackend}, against fabric8's mock API
 * server: pods live there (CRUD), TokenReviews and SubjectAccessReviews are answered from the
 * tokens and permissions a test grants.
 */
final class KubeletFixture implements AutoCloseable {
    static final String NODE = "k8s.gpu";
    /** The user of the API server's client certificate, as kubeadm names it. */
    static final String API_SERVER_USER = "kube-apiserver-kubelet-client";

    final TestPki pki = new TestPki();
    final ProcessBackend backend;
    final KubernetesClient client;
    final KubeletServer server;
    /** token → user the TokenReview answers with. */
    final Map<String, String> tokens = new ConcurrentHashMap<>();
    /** user → subresources the SubjectAccessReview allows. */
    final Map<String, Set<String>> allowed = new ConcurrentHashMap<>();
    final AtomicInteger tokenReviews = new AtomicInteger();
    final AtomicInteger accessReviews = new AtomicInteger();

    KubeletFixture(KubernetesMockServer mock, KubernetesClient client, Path tmp) throws Exception {
        this(mock, client, new ProcessBackend(tmp.resolve("logs")), null);
    }

    /** The kubelet API over another backend (the relay to a real provider); {@link #backend} is then null. */
    KubeletFixture(KubernetesMockServer mock, KubernetesClient client, KubeletBackend other) throws Exception {
        this(mock, client, null, other);
    }

    private KubeletFixture(KubernetesMockServer mock, KubernetesClient client, ProcessBackend processes, KubeletBackend other)
            throws Exception {
        this.client = client;
        this.backend = processes;
        allowed.put(API_SERVER_USER, Set.of("proxy", "log", "stats", "metrics"));
        ObjectMapper json = new ObjectMapper();
        mock.expect().post().withPath("/apis/authentication.k8s.io/v1/tokenreviews").andReply(201, req -> {
            tokenReviews.incrementAndGet();
            JsonNode review = read(json, req.getUtf8Body());
            String user = tokens.get(review.path("spec").path("token").asText());
            Map<String, Object> status = user == null ? Map.of("authenticated", false)
                    : Map.of("authenticated", true, "user", Map.of("username", user, "uid", "uid-" + user, "groups", new String[] {"system:authenticated"}));
            return Map.of("apiVersion", "authentication.k8s.io/v1", "kind", "TokenReview", "status", status);
        }).always();
        mock.expect().post().withPath("/apis/authorization.k8s.io/v1/subjectaccessreviews").andReply(201, req -> {
            accessReviews.incrementAndGet();
            JsonNode spec = read(json, req.getUtf8Body()).path("spec");
            JsonNode attrs = spec.path("resourceAttributes");
            boolean ok = attrs.path("resource").asText().equals("nodes") && attrs.path("name").asText().equals(NODE)
                    && allowed.getOrDefault(spec.path("user").asText(), Set.of()).contains(attrs.path("subresource").asText());
            return Map.of("apiVersion", "authorization.k8s.io/v1", "kind", "SubjectAccessReview",
                    "status", ok ? Map.of("allowed", true) : Map.of("allowed", false, "reason", "no RBAC policy matched"));
        }).always();
        server = KubeletServer.start(new InetSocketAddress("127.0.0.1", 0), NODE, pki.servingTls(),
                processes != null ? processes : other, client);
    }

    private static JsonNode read(ObjectMapper json, String body) {
        try {
            return json.readTree(body);
        } catch (Exception e) {
            throw new IllegalArgumentException(e);
        }
    }

    /** Creates a pod bound to {@code node} with these containers; returns it as the backend will see it. */
    KubeletBackend.PodRef pod(String namespace, String name, String node, String... containers) {
        Pod pod = new PodBuilder().withNewMetadata().withNamespace(namespace).withName(name).endMetadata()
                .withNewSpec().withNodeName(node).withContainers(Arrays.stream(containers)
                        .map(c -> new ContainerBuilder().withName(c).withImage("busybox").build()).toList()).endSpec().build();
        Pod created = client.pods().inNamespace(namespace).resource(pod).create();
        return new KubeletBackend.PodRef(namespace, name, created.getMetadata().getUid());
    }

    /** The API server's connection to a kubelet: a client certificate the cluster CA issued. */
    SSLContext apiServer() {
        return pki.client(API_SERVER_USER, "kubeadm:cluster-admins");
    }

    URI uri(String pathAndQuery) {
        return URI.create("https://127.0.0.1:" + server.port() + pathAndQuery);
    }

    @Override
    public void close() {
        server.close();
    }
}
