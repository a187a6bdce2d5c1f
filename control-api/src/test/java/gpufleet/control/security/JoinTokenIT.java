package gpufleet.control.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.ApiFixture.Host;
import gpufleet.control.support.Fingerprint;
import gpufleet.control.support.Http;
import gpufleet.control.support.Inventories;
import gpufleet.control.support.Pods;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Whoever holds a join token may register the hosts it was issued for, as many times as it
 * allows, and take over no live host: against a real control-api on PostgreSQL. (Part of
 * docs/security.md's list of walls.)
 */
class JoinTokenIT {
    static ApiFixture fx;

    @BeforeAll
    static void start() {
        fx = ApiFixture.start();
        fx.seedOfferings();
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    @Test
    void aJoinTokenRegistersOnceByDefaultAndTheSecondUseIsRefused() {
        Http.Response issued = fx.http.post("/v1/join-tokens", ApiFixture.OPERATOR, Map.of("description", "one host"));
        assertThat(issued.status()).as(issued.toString()).isEqualTo(201);
        assertThat(issued.json().get("uses").asInt()).isEqualTo(1);
        Instant expires = Instant.parse(issued.json().get("expiresAt").asText());
        assertThat(expires).as("a short default lifetime: 1 h").isBetween(Instant.now().plus(Duration.ofMinutes(55)),
                Instant.now().plus(Duration.ofMinutes(61)));
        String join = issued.json().get("token").asText();

        assertThat(register(join, "once-01").status()).isEqualTo(201);
        Http.Response second = register(join, "once-02");
        assertThat(second.status()).as(second.toString()).isEqualTo(401);
        assertThat(second.message()).contains("is used up").contains("one registration");
        assertThat(fx.http.get("/v1/hosts/once-02", ApiFixture.OPERATOR).status()).isEqualTo(404);
        JsonNode listed = token(issued.json().get("id").asText());
        assertThat(listed.get("used").asInt()).isEqualTo(1);
    }

    @Test
    void aTokenWithDeclaredUsesRegistersThatManyHostsAndTheUsesAreBounded() {
        String join = fx.http.post("/v1/join-tokens", ApiFixture.OPERATOR, Map.of("uses", 3)).json().get("token").asText();
        for (int i = 1; i <= 3; i++) {
            assertThat(register(join, "rack-0" + i).status()).isEqualTo(201);
        }
        assertThat(register(join, "rack-04").status()).isEqualTo(401);
        for (int uses : new int[] {0, 1001}) {
            Http.Response r = fx.http.post("/v1/join-tokens", ApiFixture.OPERATOR, Map.of("uses", uses));
            assertThat(r.status()).as(r.toString()).isEqualTo(400);
            assertThat(r.json().get("field").asText()).isEqualTo("uses");
        }
    }

    @Test
    void aTokenBoundToHostNamesRefusesAnyOtherName() throws Exception {
        Http.Response issued = fx.http.post("/v1/join-tokens", ApiFixture.OPERATOR, Map.of("hosts", List.of("bound-01", "bound-02")));
        assertThat(issued.json().get("uses").asInt()).as("one use per named host").isEqualTo(2);
        String join = issued.json().get("token").asText();
        Map<String, String> before = Fingerprint.of(fx);
        Http.Response other = register(join, "bound-99");
        assertThat(other.status()).as(other.toString()).isEqualTo(403);
        assertThat(other.message()).contains("bound to host(s) bound-01, bound-02").contains("cannot register 'bound-99'");
        assertThat(Fingerprint.of(fx)).as("nothing changed, the use not spent").isEqualTo(before);
        assertThat(register(join, "bound-01").status()).isEqualTo(201);
        assertThat(register(join, "bound-02").status()).isEqualTo(201);
        Http.Response bad = fx.http.post("/v1/join-tokens", ApiFixture.OPERATOR, Map.of("hosts", List.of("Not_A_Name")));
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.json().get("field").asText()).isEqualTo("hosts[0]");
    }

    @Test
    void registeringALiveHostsNameIsRefusedAndTheLiveHostKeepsItsCredentialAndWorkloads() throws Exception {
        // The only A100 host here, so the A100 pod is placed on it.
        Host victim = fx.register("victim");
        fx.heartbeat(victim);
        fx.report(victim, Inventories.report("victim", 1, Inventories.A100, 8, 63_000, 256L << 30));
        String tenant = fx.tenant("victim-tenant", List.of("seeweb-nvidia-1xa100"));
        Map<String, Object> pod = Pods.pod("secret-pod", "db", "seeweb-nvidia-1xa100",
                List.of(Pods.container("db", 1, "2", "16Gi")));
        @SuppressWarnings("unchecked")
        Map<String, Object> container = ((List<Map<String, Object>>) pod.get("containers")).get(0);
        container.put("env", List.of(Map.of("name", "DB_PASSWORD", "value", "hunter2-victim")));
        assertThat(fx.http.post("/v1/tenants/victim-tenant/workloads", tenant, pod).status()).isIn(200, 201);
        await().atMost(Duration.ofSeconds(30)).until(() ->
                fx.http.get("/v1/hosts/" + victim.id() + "/workloads", victim.token()).body().contains("hunter2-victim"));

        String join = fx.joinToken();
        Map<String, String> before = Fingerprint.of(fx);
        Http.Response taken = register(join, "victim");
        assertThat(taken.status()).as(taken.toString()).isEqualTo(409);
        assertThat(taken.message()).contains("host victim is registered and live").contains("gpuctl rekey host victim")
                .doesNotContain("gfh_");
        assertThat(Fingerprint.of(fx)).as("nothing changed").isEqualTo(before);
        fx.heartbeat(victim);
        Http.Response spec = fx.http.get("/v1/hosts/" + victim.id() + "/workloads", join);
        assertThat(spec.status()).as("a join token reads no host's workloads").isEqualTo(403);
        assertThat(spec.body()).doesNotContain("hunter2-victim");
        assertThat(register(join, "attacker-own").status()).as("the refused registration did not spend the use").isEqualTo(201);
    }

    @Test
    void aLostHostMayRegisterAgainUnderItsNameAndItsOldCredentialIsRevoked() {
        Host first = fx.seedHost("rejoin");
        fx.backdateHeartbeat(first, Duration.ofHours(1));
        // The liveness job runs every 200 ms here; whichever round sees the old heartbeat marks it.
        await().atMost(Duration.ofSeconds(30)).until(() ->
                fx.http.get("/v1/hosts/rejoin", ApiFixture.OPERATOR).json().at("/host/state").asText().equals("lost"));
        Host again = fx.register("rejoin");
        assertThat(again.id()).isEqualTo(first.id());
        Http.Response old = fx.http.post("/v1/hosts/" + first.id() + "/heartbeat", first.token(), null);
        assertThat(old.status()).isEqualTo(401);
        assertThat(old.message()).contains("revoked");
        fx.heartbeat(again);
        assertThat(events("rejoin")).anySatisfy(e -> assertThat(e).contains("Reregistered").contains("after it was lost"));
    }

    @Test
    void anOperatorReKeysAHostAndThatIsAnEvent() {
        Host host = fx.seedHost("rekeyed");
        Http.Response r = fx.http.post("/v1/hosts/rekeyed/rekey", ApiFixture.OPERATOR, null);
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        assertThat(r.json().get("revokedCredentials").asInt()).isEqualTo(1);
        JsonNode join = r.json().get("joinToken");
        assertThat(join.get("uses").asInt()).isEqualTo(1);
        assertThat(join.get("hosts").toString()).isEqualTo("[\"rekeyed\"]");
        assertThat(fx.http.post("/v1/hosts/" + host.id() + "/heartbeat", host.token(), null).status())
                .as("the old credential stops working at once").isEqualTo(401);

        String token = join.get("token").asText();
        assertThat(register(token, "someone-else").status()).as("bound to the re-keyed host's name").isEqualTo(403);
        Http.Response again = register(token, "rekeyed");
        assertThat(again.status()).as(again.toString()).isEqualTo(200);
        assertThat(again.json().get("hostId").asText()).isEqualTo(host.id());
        fx.heartbeat(new Host(host.id(), "rekeyed", again.json().get("token").asText()));
        assertThat(register(token, "rekeyed").status()).as("one use").isEqualTo(401);
        assertThat(events("rekeyed")).anySatisfy(e -> assertThat(e).contains("Rekeyed")
                .contains("re-keyed by operator token").contains("1 credential(s) revoked"));
        assertThat(fx.http.post("/v1/hosts/rekeyed/rekey", fx.joinToken(), null).status()).as("operators only").isEqualTo(403);
        assertThat(fx.http.post("/v1/hosts/nobody/rekey", ApiFixture.OPERATOR, null).status()).isEqualTo(404);
    }

    @Test
    void registrationsRacingForTheLastUseOfATokenLetExactlyOneWin() throws Exception {
        int racers = 8;
        ExecutorService pool = Executors.newFixedThreadPool(racers);
        try {
            for (int r = 0; r < 5; r++) {
                int round = r;
                String join = fx.joinToken();
                CountDownLatch go = new CountDownLatch(1);
                List<Future<Integer>> answers = new ArrayList<>();
                for (int i = 0; i < racers; i++) {
                    String name = "race-" + round + "-" + i;
                    answers.add(pool.submit(() -> {
                        go.await();
                        return register(join, name).status();
                    }));
                }
                go.countDown();
                List<Integer> statuses = new ArrayList<>();
                for (Future<Integer> a : answers) {
                    statuses.add(a.get(60, TimeUnit.SECONDS));
                }
                assertThat(statuses).as("round %d", round).containsOnlyOnce(201)
                        .filteredOn(s -> s != 201).containsOnly(401);
                long registered = fx.http.get("/v1/hosts", ApiFixture.OPERATOR).json().get("items").findValuesAsText("name")
                        .stream().filter(n -> n.startsWith("race-" + round + "-")).count();
                assertThat(registered).as("round %d: hosts registered", round).isEqualTo(1);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static Http.Response register(String join, String name) {
        return fx.http.post("/v1/hosts/register", join, Map.of("name", name));
    }

    private static JsonNode token(String id) {
        for (JsonNode t : fx.http.get("/v1/join-tokens", ApiFixture.OPERATOR).json().get("items")) {
            if (t.get("id").asText().equals(id)) {
                return t;
            }
        }
        throw new AssertionError("join token " + id + " is not listed");
    }

    private static List<String> events(String host) {
        List<String> out = new ArrayList<>();
        fx.http.get("/v1/events?host=" + host, ApiFixture.OPERATOR).json().get("items")
                .forEach(e -> out.add(e.get("reason").asText() + " " + e.get("message").asText()));
        return out;
    }
}
