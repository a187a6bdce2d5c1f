package gpufleet.control.workload;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.common.Json;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.ApiFixture.Host;
import gpufleet.control.support.Pods;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A tenant-agent lists its workloads every second: with the ETag of its last answer in
 * If-None-Match, an unchanged list is a 304 without a body, and any change (a new workload, a
 * host's status report) is a full answer with a new tag.
 */
class WorkloadListTagsIT {
    private static final HttpClient CLIENT = HttpClient.newHttpClient();
    ApiFixture fx;
    Host host;
    String tenant;
    String other;

    record Answer(int status, String etag, String body) {
        JsonNode json() {
            try {
                return Json.mapper().readTree(body);
            } catch (Exception e) {
                throw new AssertionError("not JSON: " + body, e);
            }
        }

        List<String> uids() {
            List<String> out = new ArrayList<>();
            json().get("items").forEach(w -> out.add(w.get("podUid").asText()));
            return out;
        }
    }

    @BeforeEach
    void start() {
        fx = ApiFixture.start();
        fx.seedOfferings();
        host = fx.seedHost("a6000-01");
        tenant = fx.tenant("skg00000", List.of("seeweb-nvidia-1xa6000"));
        other = fx.tenant("skg00001", List.of("seeweb-nvidia-1xa6000"));
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    private Answer list(String tenantName, String token, String ifNoneMatch) throws Exception {
        HttpRequest.Builder req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + fx.api.port() + "/v1/tenants/" + tenantName
                + "/workloads")).header("Authorization", "Bearer " + token).GET();
        if (ifNoneMatch != null) {
            req.header("If-None-Match", ifNoneMatch);
        }
        HttpResponse<String> r = CLIENT.send(req.build(), HttpResponse.BodyHandlers.ofString());
        return new Answer(r.statusCode(), r.headers().firstValue("ETag").orElse(null), r.body());
    }

    @Test
    void anUnchangedListIsA304AndEachChangeANewAnswer() throws Exception {
        assertThat(fx.http.post("/v1/tenants/skg00000/workloads", tenant, Pods.seedPod("uid-a")).status()).isEqualTo(201);
        Answer first = list("skg00000", tenant, null);
        assertThat(first.status()).isEqualTo(200);
        assertThat(first.uids()).containsExactly("uid-a");
        assertThat(first.etag()).matches("\"[0-9a-f]{32}\"");

        Answer same = list("skg00000", tenant, first.etag());
        assertThat(same.status()).as("nothing changed").isEqualTo(304);
        assertThat(same.body()).isEmpty();
        assertThat(same.etag()).isEqualTo(first.etag());

        assertThat(fx.http.post("/v1/tenants/skg00000/workloads", tenant, Pods.seedPod("uid-b")).status()).isEqualTo(201);
        Answer created = list("skg00000", tenant, first.etag());
        assertThat(created.status()).as("a new workload").isEqualTo(200);
        assertThat(created.uids()).containsExactly("uid-a", "uid-b");
        assertThat(created.etag()).isNotEqualTo(first.etag());

        // A host's report moves a workload's status: the agent must see it on its next list.
        String id = created.json().get("items").get(0).get("id").asText();
        Map<String, Object> running = Map.of("name", "nvidia", "state", "running", "restartCount", 0, "ready", true,
                "startedAt", "2026-11-28T10:00:00Z", "containerId", "docker://abc");
        assertThat(fx.http.put("/v1/hosts/" + host.id() + "/workloads/" + id + "/status", host.token(),
                Map.of("generation", 2, "containers", List.of(running))).json().get("applied").asBoolean()).isTrue();
        Answer reported = list("skg00000", tenant, created.etag());
        assertThat(reported.status()).as("a status report").isEqualTo(200);
        assertThat(reported.json().get("items").get(0).get("phase").asText()).isEqualTo("running");
        assertThat(list("skg00000", tenant, reported.etag()).status()).isEqualTo(304);
    }

    @Test
    void aMalformedTagIsRefusedByName() throws Exception {
        for (String bad : List.of("*", "W/\"0123456789abcdef0123456789abcdef\"", "\"xyz\"", "0123456789abcdef0123456789abcdef")) {
            Answer r = list("skg00000", tenant, bad);
            assertThat(r.status()).as(bad).isEqualTo(400);
            assertThat(r.json().get("message").asText()).as(bad)
                    .startsWith("If-None-Match must be the ETag of an earlier answer of this list");
        }
    }

    @Test
    void anotherTenantsTagMatchesNothingAndShowsNothingOfTheirs() throws Exception {
        // Both lists empty: the same body, yet a tag is the tenant's own.
        Answer mine = list("skg00000", tenant, null);
        Answer theirs = list("skg00001", other, mine.etag());
        assertThat(theirs.status()).isEqualTo(200);
        assertThat(theirs.etag()).isNotEqualTo(mine.etag());

        assertThat(fx.http.post("/v1/tenants/skg00000/workloads", tenant, Pods.seedPod("uid-secret")).status()).isEqualTo(201);
        Answer after = list("skg00001", other, theirs.etag());
        assertThat(after.status()).as("another tenant's workload changes nothing of this list").isEqualTo(304);
        Answer stolen = list("skg00000", other, list("skg00000", tenant, null).etag());
        assertThat(stolen.status()).as("another tenant's list, even with its tag").isEqualTo(403);
        assertThat(stolen.body()).doesNotContain("uid-secret");
    }
}
