package gpufleet.control.workload;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.ApiFixture.Host;
import gpufleet.control.support.Http;
import gpufleet.control.support.Pods;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A host evicting a workload: only its own, only with a one-line message, and once. */
class HostEvictionsIT {
    ApiFixture fx;
    Host host;
    String tenant;
    String workload;

    @BeforeEach
    void start() {
        fx = ApiFixture.start();
        fx.seedOfferings();
        host = fx.seedHost("a6000-01");
        tenant = fx.tenant("skg00000", List.of("seeweb-nvidia-1xa6000"));
        Http.Response r = fx.http.post("/v1/tenants/skg00000/workloads", tenant, Pods.seedPod("uid-evict"));
        assertThat(r.json().get("phase").asText()).isEqualTo("placed");
        workload = r.json().get("id").asText();
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    private Http.Response evict(Host by, String id, Object body) {
        return fx.http.post("/v1/hosts/" + by.id() + "/workloads/" + id + "/eviction", by.token(), body);
    }

    private JsonNode view() {
        return fx.http.get("/v1/tenants/skg00000/workloads/uid-evict", tenant).json();
    }

    @Test
    void anotherHostCannotEvictAWorkloadItDoesNotRun() {
        Host other = fx.register("a6000-02");
        Http.Response r = evict(other, workload, Map.of("message", "Pod ephemeral local storage usage exceeds it."));
        assertThat(r.status()).as(r.toString()).isEqualTo(404);
        Http.Response asAnother = fx.http.post("/v1/hosts/" + host.id() + "/workloads/" + workload + "/eviction", other.token(),
                Map.of("message", "x"));
        assertThat(asAnother.status()).as("another host's token on this host's path").isEqualTo(403);
        assertThat(view().get("phase").asText()).as("nothing changed").isEqualTo("placed");
    }

    @Test
    void malformedEvictionsAreRefusedAndChangeNothing() {
        for (Object bad : List.of(Map.of("message", "line one\nline two"), Map.of("message", "x".repeat(1025)),
                Map.of("message", "ok", "reason", "Anything"), Map.of(), "{not json")) {
            Http.Response r = evict(host, workload, bad);
            assertThat(r.status()).as("%s -> %s", bad, r).isEqualTo(400);
        }
        assertThat(evict(host, "not-a-uuid", Map.of("message", "x")).status()).isEqualTo(400);
        assertThat(view().get("phase").asText()).isEqualTo("placed");
    }

    @Test
    void anEvictionFailsThePodWithTheKubeletsReasonOnce() {
        String message = "Container nvidia exceeded its local ephemeral storage limit \"1Gi\".";
        Http.Response first = evict(host, workload, Map.of("message", message));
        assertThat(first.status()).as(first.toString()).isEqualTo(201);
        JsonNode w = view();
        assertThat(w.get("phase").asText()).isEqualTo("failed");
        assertThat(w.get("reason").asText()).isEqualTo("Evicted");
        assertThat(w.get("message").asText()).isEqualTo(message);
        assertThat(w.get("deletionRequested").asBoolean()).isTrue();
        Http.Response again = evict(host, workload, Map.of("message", "something else"));
        assertThat(again.status()).isEqualTo(200);
        assertThat(again.json().get("evicted").asBoolean()).isFalse();
        assertThat(view().get("message").asText()).as("the first word stands").isEqualTo(message);
    }
}
