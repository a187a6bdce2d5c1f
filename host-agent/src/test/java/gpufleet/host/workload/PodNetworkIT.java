package gpufleet.host.workload;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.model.Frame;
import com.sun.net.httpserver.HttpServer;
import gpufleet.common.api.HostCondition;
import gpufleet.common.api.HostDesired;
import gpufleet.common.api.HostWorkload;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.host.net.Ipv4Cidr;
import gpufleet.host.net.PodFirewall;
import gpufleet.host.net.ProcessTables;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hostile pod on real Docker and real iptables tries every address a tenant must not reach,
 * each one first shown to answer from the host, and the internet, which it must reach. The
 * internet and the provider's networks are stand-ins in a network namespace this test makes
 * (203.0.113.10 is "the internet"; 10.213.58.10 a private provider address; 169.254.77.77 a
 * link-local one, as cloud metadata is; 198.51.100.10 a provider range named in GPUFLEET_POD_DENY).
 */
class PodNetworkIT {
    static final String HOSTILE = "hostile0";
    static final String OTHER = "othertnt";
    static final String NS = "gfnet" + UUID.randomUUID().toString().substring(0, 6);
    static final String VETH = "gfv" + NS.substring(5);
    static final List<String> ROUTED = List.of("10.213.58.10", "169.254.77.77", "198.51.100.10");
    static DockerClient docker;
    static HttpServer hostServer;
    static Process internet;

    @TempDir
    static Path state;

    @BeforeAll
    static void standIns() throws Exception {
        docker = TestEngine.client();
        TestEngine.removeManaged(docker);
        Path www = Files.createDirectories(state.resolve("www"));
        Files.writeString(www.resolve("index.html"), "stand-in\n");
        sh("ip", "netns", "add", NS);
        sh("ip", "link", "add", VETH + "h", "type", "veth", "peer", "name", VETH + "n");
        sh("ip", "link", "set", VETH + "n", "netns", NS);
        sh("ip", "addr", "add", "203.0.113.1/24", "dev", VETH + "h");
        sh("ip", "link", "set", VETH + "h", "up");
        sh("ip", "netns", "exec", NS, "ip", "addr", "add", "203.0.113.10/24", "dev", VETH + "n");
        for (String a : ROUTED) {
            sh("ip", "netns", "exec", NS, "ip", "addr", "add", a + "/32", "dev", VETH + "n");
            sh("ip", "route", "add", a + "/32", "via", "203.0.113.10");
        }
        sh("ip", "netns", "exec", NS, "ip", "link", "set", VETH + "n", "up");
        sh("ip", "netns", "exec", NS, "ip", "link", "set", "lo", "up");
        sh("ip", "netns", "exec", NS, "ip", "route", "add", "default", "via", "203.0.113.1");
        internet = new ProcessBuilder("ip", "netns", "exec", NS, "busybox", "httpd", "-f", "-p", "80", "-h", www.toString())
                .redirectErrorStream(true).redirectOutput(state.resolve("httpd.log").toFile()).start();
        hostServer = HttpServer.create(new InetSocketAddress("0.0.0.0", 0), 16);
        hostServer.createContext("/", ex -> {
            byte[] body = "host\n".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        hostServer.start();
    }

    @AfterAll
    static void removeStandIns() throws Exception {
        TestEngine.removeManaged(docker);
        if (hostServer != null) {
            hostServer.stop(0);
        }
        if (internet != null) {
            internet.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        for (String a : ROUTED) {
            quiet("ip", "route", "del", a + "/32");
        }
        quiet("ip", "link", "del", VETH + "h");
        quiet("ip", "netns", "del", NS);
        TestEngine.firewall(); // the machine's usual rules, for the tests after this one
        docker.close();
    }

    @Test
    void aPodReachesTheInternetAndNothingOfTheProviders() throws Exception {
        try (TestEngine.Wired wired = TestEngine.Wired.host("walled-host", state.resolve("agent"))) {
            // After the wiring, which puts the machine's usual rules in place: these name one more provider range.
            PodFirewall walls = new PodFirewall(true, List.of(Ipv4Cidr.parse("198.51.100.0/24")),
                    ProcessTables.resolvers(Path.of("/etc/resolv.conf")), new ProcessTables());
            HostCondition c = walls.ensure();
            assertThat(c.status()).as("pod firewall: %s", c.message()).isEqualTo("True");
            HostWorkload other = pod(OTHER, server());
            HostWorkload neighbour = pod(HOSTILE, server());
            wired.reconciler().reconcile(new HostDesired(1, List.of(other, neighbour)));
            int port = hostServer.getAddress().getPort();
            // Where → what, each address once (the pod gateway is also one of the host's addresses).
            Map<String, String> targets = new LinkedHashMap<>();
            targets.put("203.0.113.10:80", "the internet");
            for (String a : ROUTED) {
                targets.put(a + ":80", "a provider network");
            }
            targets.put(podAddress(other) + ":8080", "another tenant's pod");
            targets.put(podAddress(neighbour) + ":8080", "the tenant's own other pod");
            targets.put(gateway(TenantNetworks.name(HOSTILE)) + ":" + port, "the host at the pod's gateway");
            for (String a : hostAddresses()) {
                targets.putIfAbsent(a + ":" + port, "the host");
            }
            for (var t : targets.entrySet()) {
                assertThat(answersFromTheHost(t.getKey())).as("%s (%s) answers from the host itself", t.getValue(), t.getKey()).isTrue();
            }
            HostWorkload hostile = pod(HOSTILE, prober(targets.keySet()));
            wired.reconciler().reconcile(new HostDesired(2, List.of(other, neighbour, hostile)));
            Map<String, String> seen = probeResults(hostile, targets.size());
            Map<String, String> expected = new LinkedHashMap<>();
            targets.forEach((where, what) -> expected.put(where, what.equals("the internet") ? "open" : "closed"));
            assertThat(seen).as("what the hostile pod reached (%s)", targets).isEqualTo(expected);
        }
    }

    @Test
    void rulesRemovedBehindTheAgentsBackArePutBackFirst() throws Exception {
        PodFirewall walls = TestEngine.firewall();
        sh("iptables", "-w", "5", "-F", "GPUFLEET-POD-OUT");
        sh("iptables", "-w", "5", "-D", "DOCKER-USER", "-i", "gfp+", "-j", "GPUFLEET-POD-OUT");
        sh("iptables", "-w", "5", "-I", "INPUT", "1", "-j", "ACCEPT", "-m", "comment", "--comment", "gpufleet-test-accept-all");
        try {
            assertThat(walls.ensure().status()).isEqualTo("True");
            List<String> input = rules("INPUT");
            assertThat(input.get(0)).as("INPUT: %s", input).isEqualTo("-A INPUT -i gfp+ -j GPUFLEET-POD-IN");
            assertThat(rules("DOCKER-USER").get(0)).isEqualTo("-A DOCKER-USER -i gfp+ -j GPUFLEET-POD-OUT");
            assertThat(rules("GPUFLEET-POD-OUT")).contains("-A GPUFLEET-POD-OUT -d 169.254.0.0/16 -j REJECT --reject-with icmp-admin-prohibited",
                    "-A GPUFLEET-POD-OUT -d 10.0.0.0/8 -j REJECT --reject-with icmp-admin-prohibited");
            assertThat(walls.ensure().status()).as("a second pass changes nothing and stays in place").isEqualTo("True");
            assertThat(rules("INPUT").stream().filter(r -> r.contains("GPUFLEET-POD-IN")).count()).isEqualTo(1);
        } finally {
            quiet("iptables", "-w", "5", "-D", "INPUT", "-j", "ACCEPT", "-m", "comment", "--comment", "gpufleet-test-accept-all");
        }
    }

    static HostWorkload pod(String tenant, WorkloadSpec.Container c) {
        UUID id = UUID.randomUUID();
        WorkloadSpec spec = new WorkloadSpec("uid-" + id, "default", c.name(), "seeweb-nvidia-1xa6000", List.of(c), "Never", 1L, List.of());
        return new HostWorkload(id, tenant, "uid-" + id, "default", c.name(), spec, Map.of(), false, List.of());
    }

    static WorkloadSpec.Container server() {
        return container("web-" + UUID.randomUUID().toString().substring(0, 6),
                "mkdir -p /www && echo pod > /www/index.html && exec httpd -f -p 8080 -h /www");
    }

    /** Connects to each target once (3 s each at most) and prints "<target> open|closed", then "done". */
    static WorkloadSpec.Container prober(java.util.Collection<String> targets) {
        return container("prober", "for t in " + String.join(" ", targets) + "; do "
                + "if nc -w 3 ${t%:*} ${t##*:} </dev/null >/dev/null 2>&1; then echo \"$t open\"; else echo \"$t closed\"; fi; done; echo done");
    }

    static WorkloadSpec.Container container(String name, String script) {
        return new WorkloadSpec.Container(name, "gpufleet/busybox:test", "IfNotPresent", List.of("sh", "-c", script), null, List.of(),
                null, new WorkloadSpec.Resources(0, "100m", "32Mi"), null, null, null, null);
    }

    static String podAddress(HostWorkload w) {
        return docker.inspectContainerCmd(Labels.sandboxName(w.id().toString())).exec().getNetworkSettings().getNetworks()
                .get(TenantNetworks.name(w.tenant())).getIpAddress();
    }

    static String gateway(String network) {
        return docker.inspectNetworkCmd().withNetworkId(network).exec().getIpam().getConfig().get(0).getGateway();
    }

    /** The host's own IPv4 addresses other than loopback and the stand-in's link: where its listeners answer. */
    static List<String> hostAddresses() throws Exception {
        List<String> out = new ArrayList<>();
        for (NetworkInterface i : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            if (!i.isLoopback() && !i.getName().startsWith(VETH)) {
                i.inetAddresses().filter(a -> a instanceof Inet4Address).forEach(a -> out.add(a.getHostAddress()));
            }
        }
        return out;
    }

    /** Whether the target answers a request from the host (tried for up to 30 s: a pod's server takes a moment). */
    static boolean answersFromTheHost(String target) throws InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://" + target + "/"))
                        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return true;
                }
            } catch (java.io.IOException e) {
                // not listening yet
            }
            TimeUnit.MILLISECONDS.sleep(200);
        }
        return false;
    }

    /** Waits for the prober to finish (it prints "done") and reads what it printed. */
    static Map<String, String> probeResults(HostWorkload w, int count) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        String id = null;
        while (System.nanoTime() < deadline) {
            id = docker.listContainersCmd().withShowAll(true).withLabelFilter(Map.of(Labels.WORKLOAD, w.id().toString(),
                    Labels.CONTAINER, "prober")).exec().stream().map(x -> x.getId()).findFirst().orElse(null);
            if (id != null && !docker.inspectContainerCmd(id).exec().getState().getRunning()) {
                break;
            }
            TimeUnit.MILLISECONDS.sleep(200);
        }
        StringBuilder out = new StringBuilder();
        docker.logContainerCmd(id).withStdOut(true).withStdErr(true).exec(new ResultCallback.Adapter<Frame>() {
            @Override
            public void onNext(Frame f) {
                out.append(new String(f.getPayload(), StandardCharsets.UTF_8));
            }
        }).awaitCompletion(30, TimeUnit.SECONDS);
        assertThat(out.toString()).as("the prober's output").contains("done");
        Map<String, String> seen = new LinkedHashMap<>();
        out.toString().lines().map(l -> l.split(" ")).filter(f -> f.length == 2).forEach(f -> seen.put(f[0], f[1]));
        assertThat(seen).hasSize(count);
        return seen;
    }

    static List<String> rules(String chain) throws Exception {
        return sh("iptables", "-w", "5", "-S", chain).lines().filter(l -> l.startsWith("-A ")).toList();
    }

    static String sh(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0).as("%s: %s", String.join(" ", cmd), out).isTrue();
        return out;
    }

    static void quiet(String... cmd) throws Exception {
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(30, TimeUnit.SECONDS);
    }
}
