package gpufleet.tenant.service;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.control.support.ApiFixture;
import gpufleet.tenant.provider.ProviderClient;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** LoadBalancer Services of class k8s.gpu become routes (mock API server, real control-api on PostgreSQL). */
@EnableKubernetesMockClient(crud = true)
class ServicesIT {
    static final String CLUSTER = "cluster-a";
    KubernetesClient client;
    ApiFixture fx;
    String token;
    ServiceController services;

    @BeforeEach
    void start() {
        fx = ApiFixture.start(Map.of("GPUFLEET_EDGE_DOMAIN", "cloud.provider.tld"));
        fx.seedOfferings();
        token = fx.tenant("skg00000", List.of("seeweb-nvidia-1xa6000"));
        services = new ServiceController(client, new ProviderClient(URI.create("http://127.0.0.1:" + fx.api.port()), token), "k8s.gpu",
                () -> null, () -> null);
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    private Pod pod(String name, String node, Map<String, String> labels) {
        return client.pods().inNamespace("default").resource(new PodBuilder().withNewMetadata().withName(name).withNamespace("default")
                .withLabels(labels).endMetadata().withNewSpec().withNodeName(node)
                .addNewContainer().withName("web").withImage("gpufleet/busybox:test").addNewPort().withName("http")
                .withContainerPort(8080).endPort().endContainer().endSpec().build()).create();
    }

    private Service service(String name, String type, String lbClass, Object targetPort) {
        IntOrString target = targetPort instanceof Integer i ? new IntOrString(i) : new IntOrString((String) targetPort);
        return client.services().inNamespace("default").resource(new ServiceBuilder().withNewMetadata().withName(name).endMetadata()
                .withNewSpec().withType(type).withLoadBalancerClass(lbClass).withSelector(Map.of("run", "inference"))
                .addNewPort().withName("http").withPort(80).withProtocol("TCP").withTargetPort(target).endPort()
                .endSpec().build()).create();
    }

    private JsonNode routes() {
        return fx.http.get("/v1/tenants/skg00000/routes", token).json().get("items");
    }

    @Test
    void theSeedsServiceGetsItsPublicNameAndFollowsItsPods() throws Exception {
        Pod p1 = pod("inference-1", "k8s.gpu", Map.of("run", "inference"));
        pod("elsewhere", "node-1", Map.of("run", "inference"));
        pod("unrelated", "k8s.gpu", Map.of("run", "other"));
        Service svc = service("inference", "LoadBalancer", "k8s.gpu", 8080);
        services.syncOnce("skg00000", CLUSTER);
        String name = svc.getMetadata().getUid() + "-skg00000.cloud.provider.tld";
        Service now = client.services().inNamespace("default").withName("inference").get();
        assertThat(now.getStatus().getLoadBalancer().getIngress()).singleElement()
                .satisfies(i -> assertThat(i.getHostname()).isEqualTo(name));
        JsonNode r = routes().get(0);
        assertThat(r.get("hostname").asText()).isEqualTo(name);
        assertThat(r.get("port").asInt()).isEqualTo(80);
        assertThat(r.get("targets")).hasSize(1);
        assertThat(r.at("/targets/0/podUid").asText()).isEqualTo(p1.getMetadata().getUid());
        assertThat(r.at("/targets/0/port").asInt()).isEqualTo(8080);

        Pod p2 = pod("inference-2", "k8s.gpu", Map.of("run", "inference"));
        client.pods().inNamespace("default").withName("inference-1").delete();
        services.syncOnce("skg00000", CLUSTER);
        assertThat(routes().get(0).get("targets")).singleElement()
                .satisfies(t -> assertThat(t.get("podUid").asText()).isEqualTo(p2.getMetadata().getUid()));

        client.services().inNamespace("default").withName("inference").delete();
        services.syncOnce("skg00000", CLUSTER);
        assertThat(routes()).isEmpty();
    }

    @Test
    void theTenantsOtherClustersRoutesAreLeftAlone() throws Exception {
        // The tenant's other cluster published a Service through its own agent; this cluster has none.
        String theirs = "6f1c2a4e-0b7d-4c1e-9a55-3d2f7e8b9c10";
        assertThat(fx.http.put("/v1/tenants/skg00000/routes/" + theirs + "?cluster=cluster-b", token,
                Map.of("namespace", "default", "name", "web", "port", 80, "targets", List.of())).status()).isEqualTo(200);
        services.syncOnce("skg00000", CLUSTER);
        assertThat(routes()).as("cluster-b's route after cluster-a's agent compared its Services").singleElement()
                .satisfies(r -> assertThat(r.get("serviceUid").asText()).isEqualTo(theirs));
        assertThat(fx.http.delete("/v1/tenants/skg00000/routes/" + theirs + "?cluster=" + CLUSTER, token).status())
                .as("another cluster's route is not this cluster's to remove").isEqualTo(404);
        assertThat(routes()).hasSize(1);
    }

    @Test
    void aNamedTargetPortResolvesToTheContainerPort() throws Exception {
        pod("inference-1", "k8s.gpu", Map.of("run", "inference"));
        service("inference", "LoadBalancer", "k8s.gpu", "http");
        services.syncOnce("skg00000", CLUSTER);
        assertThat(routes().at("/0/targets/0/port").asInt()).isEqualTo(8080);
    }

    @Test
    void servicesOfAnotherClassOrTypeAreNeverTouched() throws Exception {
        pod("inference-1", "k8s.gpu", Map.of("run", "inference"));
        Map<String, String> versions = new java.util.HashMap<>();
        versions.put("metallb", service("metallb", "LoadBalancer", "metallb.universe.tf/metallb", 8080).getMetadata().getResourceVersion());
        versions.put("cloud", service("cloud", "LoadBalancer", null, 8080).getMetadata().getResourceVersion());
        versions.put("plain", service("plain", "ClusterIP", null, 8080).getMetadata().getResourceVersion());
        services.syncOnce("skg00000", CLUSTER);
        assertThat(routes()).isEmpty();
        for (String name : List.of("metallb", "cloud", "plain")) {
            Service s = client.services().inNamespace("default").withName(name).get();
            assertThat(s.getStatus() == null || s.getStatus().getLoadBalancer() == null
                    || s.getStatus().getLoadBalancer().getIngress() == null
                    || s.getStatus().getLoadBalancer().getIngress().isEmpty()).as(name).isTrue();
            assertThat(s.getMetadata().getResourceVersion()).as(name).isEqualTo(versions.get(name));
        }
    }
    /**
     * In the agent the Services and the node's pods come from informers, not from a list of the
     * cluster's every round; without a Service of our class no pod is looked at.
     */
    @Test
    void theInformersCopiesAreReadAndNoPodWithoutAServiceOfOurClass() throws Exception {
        AtomicInteger podReads = new AtomicInteger();
        Pod held = new PodBuilder().withNewMetadata().withName("inference-held").withNamespace("default").withUid("held-by-the-informer")
                .withLabels(Map.of("run", "inference")).endMetadata().withNewSpec().withNodeName("k8s.gpu").addNewContainer()
                .withName("web").withImage("gpufleet/busybox:test").endContainer().endSpec().build();
        List<Service> heldServices = new ArrayList<>(List.of(service("plain", "ClusterIP", null, 8080)));
        ServiceController fromInformers = new ServiceController(client, new ProviderClient(URI.create("http://127.0.0.1:"
                + fx.api.port()), token), "k8s.gpu", () -> {
                    podReads.incrementAndGet();
                    return List.of(held);
                }, () -> heldServices);
        fromInformers.syncOnce("skg00000", CLUSTER);
        assertThat(podReads).as("no Service of class k8s.gpu: no pod read").hasValue(0);
        assertThat(routes()).isEmpty();

        heldServices.add(service("inference", "LoadBalancer", "k8s.gpu", 8080));
        fromInformers.syncOnce("skg00000", CLUSTER);
        assertThat(podReads).hasValue(1);
        assertThat(routes().at("/0/targets/0/podUid").asText()).as("the informer's pod, which the API server does not have")
                .isEqualTo("held-by-the-informer");
    }
}
