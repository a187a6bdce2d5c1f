package gpufleet.bench;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/**
 * Pods started one after another through the tenant-agent on the real host (offering bench-1x),
 * each timed from its creation to Running in the API server, then deleted, its GPU back before
 * the next. The API server is polled every 20 ms: in a mock holding thousands of objects each
 * read is a scan, and polling harder would take CPU from the agent being measured.
 */
final class PodStarts {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static int serial;

    private PodStarts() {}

    /** {@code n} timed pods after one warm-up (entry 0). */
    static long[] timed(KubernetesClient k8s, String base, String operatorToken, int n) throws Exception {
        long[] all = new long[n + 1];
        for (int i = 0; i <= n; i++) {
            String name = "timed-" + serial++;
            long t0 = System.nanoTime();
            String uid = k8s.pods().inNamespace("default").resource(new PodBuilder().withNewMetadata().withName(name)
                    .withNamespace("default").endMetadata().withNewSpec().withNodeName("k8s.gpu").withRuntimeClassName("bench-1x")
                    .withTerminationGracePeriodSeconds(0L).addNewContainer().withName("main").withImage("gpufleet/busybox:test")
                    .withCommand("sleep", "3600").withNewResources().addToLimits("cpu", new Quantity("100m"))
                    .addToLimits("memory", new Quantity("64Mi")).endResources().endContainer().endSpec().build()).create()
                    .getMetadata().getUid();
            long deadline = t0 + 60_000_000_000L;
            while (!running(k8s.pods().inNamespace("default").withName(name).get())) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("pod " + name + " not Running after 60 s");
                }
                Thread.sleep(20);
            }
            all[i] = System.nanoTime() - t0;
            k8s.pods().inNamespace("default").withName(name).delete();
            while (!HTTP.send(HttpRequest.newBuilder(URI.create(base + "/v1/tenants/bench/workloads/" + uid))
                    .header("Authorization", "Bearer " + operatorToken).build(), HttpResponse.BodyHandlers.ofString()).body()
                    .contains("\"deleted\"")) {
                Thread.sleep(50);
            }
        }
        return all;
    }

    static boolean running(Pod p) {
        return p != null && p.getStatus() != null && "Running".equals(p.getStatus().getPhase());
    }
}
