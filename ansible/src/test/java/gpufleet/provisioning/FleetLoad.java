package gpufleet.provisioning;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.common.Json;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.Http;
import gpufleet.control.support.Inventories;
import gpufleet.control.support.Pods;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What a fleet asks of its control-api replicas, over HTTP: every host heartbeats each second
 * and a tenant creates a workload every 300 ms, each request to the next replica in turn.
 * Counts every answer, remembers every acknowledged create, and checks that each 503 says when
 * to come back.
 */
final class FleetLoad implements AutoCloseable {
    private static final String TENANT = "failover";
    private static final String OFFERING = "seeweb-nvidia-1xa6000";

    private final List<URI> replicas;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final List<ApiFixture.Host> hosts = new ArrayList<>();
    private final String tenantToken;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final List<Thread> threads = new ArrayList<>();
    private final AtomicInteger turn = new AtomicInteger();

    final Map<Integer, AtomicInteger> answers = new ConcurrentHashMap<>();
    final AtomicInteger noAnswer = new AtomicInteger();
    final AtomicInteger without503RetryAfter = new AtomicInteger();
    final Set<String> acknowledged = ConcurrentHashMap.newKeySet();
    /** For each acknowledged create: when its request was sent, when it was answered (nanoTime). */
    final ConcurrentLinkedQueue<long[]> createTimes = new ConcurrentLinkedQueue<>();

    /** Registers {@code hostCount} hosts of 8 GPUs and a tenant, through the first replica (each given by its base URI). */
    FleetLoad(List<URI> replicas, int hostCount) {
        this.replicas = replicas;
        Http api = new Http(replicas.get(0));
        Http.Response offering = api.post("/v1/offerings", ApiFixture.OPERATOR,
                Map.of("name", OFFERING, "gpuModel", Inventories.A6000, "gpuCount", 1, "cpu", "8000m", "memory", "32861620Ki"));
        assertThat(offering.status()).as(offering.toString()).isEqualTo(201);
        assertThat(api.post("/v1/tenants", ApiFixture.OPERATOR, Map.of("name", TENANT, "offerings", List.of(OFFERING))).status())
                .isEqualTo(201);
        Http.Response token = api.post("/v1/tenants/" + TENANT + "/tokens", ApiFixture.OPERATOR, Map.of("description", "load"));
        tenantToken = token.json().get("token").asText();
        for (int i = 0; i < hostCount; i++) {
            String name = String.format("fo-gpu-%02d", i);
            Http.Response join = api.post("/v1/join-tokens", ApiFixture.OPERATOR, Map.of("description", name, "ttl", "1h"));
            JsonNode reg = api.post("/v1/hosts/register", join.json().get("token").asText(), Map.of("name", name)).json();
            ApiFixture.Host h = new ApiFixture.Host(reg.get("hostId").asText(), name, reg.get("token").asText());
            assertThat(api.post("/v1/hosts/" + h.id() + "/heartbeat", h.token(), null).status()).isEqualTo(204);
            assertThat(api.put("/v1/hosts/" + h.id() + "/inventory", h.token(), Inventories.seedPool(name, 1)).status()).isEqualTo(200);
            hosts.add(h);
        }
    }

    void start() {
        threads.add(loop("heartbeats", Duration.ofSeconds(1), () -> {
            for (ApiFixture.Host h : hosts) {
                send("POST", "/v1/hosts/" + h.id() + "/heartbeat", h.token(), null);
            }
        }));
        AtomicInteger n = new AtomicInteger();
        threads.add(loop("creates", Duration.ofMillis(300), () -> {
            String uid = "fo-pod-" + n.incrementAndGet();
            long sent = System.nanoTime();
            int status = send("POST", "/v1/tenants/" + TENANT + "/workloads", tenantToken, Pods.seedPod(uid));
            if (status == 201 || status == 200) {
                acknowledged.add(uid);
                createTimes.add(new long[] {sent, System.nanoTime()});
            }
        }));
    }

    /** When the first create sent after {@code nanos} was acknowledged; 0: none yet. */
    long firstCreateSentAfter(long nanos) {
        return createTimes.stream().filter(t -> t[0] > nanos).mapToLong(t -> t[1]).min().orElse(0);
    }

    int acknowledgedSince(long nanos) {
        return (int) createTimes.stream().filter(t -> t[0] > nanos).count();
    }

    Map<Integer, Integer> answers() {
        Map<Integer, Integer> out = new TreeMap<>();
        answers.forEach((k, v) -> out.put(k, v.get()));
        return out;
    }

    int failed() {
        return answers.entrySet().stream().filter(e -> e.getKey() >= 300).mapToInt(e -> e.getValue().get()).sum() + noAnswer.get();
    }

    /** Sends one request to the next replica in turn; its status, or 0 when no answer came. */
    private int send(String method, String path, String token, Object body) {
        URI replica = replicas.get(Math.floorMod(turn.getAndIncrement(), replicas.size()));
        try {
            HttpRequest.Builder req = HttpRequest.newBuilder(replica.resolve(path))
                    .timeout(Duration.ofSeconds(40)).header("Authorization", "Bearer " + token)
                    .header("Content-Type", "application/json")
                    .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                            : HttpRequest.BodyPublishers.ofByteArray(Json.mapper().writeValueAsBytes(body)));
            HttpResponse<String> r = http.send(req.build(), HttpResponse.BodyHandlers.ofString());
            answers.computeIfAbsent(r.statusCode(), k -> new AtomicInteger()).incrementAndGet();
            if (r.statusCode() == 503 && r.headers().firstValue("Retry-After").isEmpty()) {
                without503RetryAfter.incrementAndGet();
            }
            return r.statusCode();
        } catch (IOException e) {
            noAnswer.incrementAndGet();
            return 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 0;
        }
    }

    private Thread loop(String name, Duration every, Runnable round) {
        Thread t = new Thread(() -> {
            while (running.get()) {
                long started = System.nanoTime();
                round.run();
                long left = every.toMillis() - (System.nanoTime() - started) / 1_000_000;
                if (left > 0) {
                    try {
                        Thread.sleep(left);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }
        }, "load-" + name);
        t.start();
        return t;
    }

    @Override
    public void close() throws InterruptedException {
        running.set(false);
        for (Thread t : threads) {
            t.join(60_000);
        }
    }
}
