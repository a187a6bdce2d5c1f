package gpufleet.control.workload;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.ApiFixture.Host;
import gpufleet.control.support.Http;
import gpufleet.control.support.Pods;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A running pod's Secret volume changes (the tenant-agent sends the pod's files again): the host
 * gets the new files, stored sealed like the first ones; what a kubelet never changes in a running
 * pod (env, a file mounted alone by subPath, which volumes are mounted) stays as it started.
 */
class VolumeUpdatesIT {
    private static final String TOKEN_1 = "first-token-4f1c";
    private static final String TOKEN_2 = "second-token-9a7e";
    ApiFixture fx;
    Host host;
    String tenant;

    @BeforeEach
    void start() {
        fx = ApiFixture.start();
        fx.seedOfferings();
        host = fx.seedHost("a6000-01");
        tenant = fx.tenant("skg00000", List.of("seeweb-nvidia-1xa6000"));
        Http.Response r = fx.http.post("/v1/tenants/skg00000/workloads", tenant, pod("env-1", List.of(key("token", TOKEN_1)), "single-1"));
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    private static Map<String, Object> key(String key, String content) {
        return Map.of("path", "/etc/secret/" + key, "mode", 0400, "contentBase64", b64(content), "volume", "/etc/secret");
    }

    /** The pod as the agent resolves it: a Secret volume at /etc/secret ({@code keys}), a subPath file, one env value. */
    private static Map<String, Object> pod(String env, List<Map<String, Object>> keys, String single) {
        Map<String, Object> pod = Pods.seedPod("uid-1");
        @SuppressWarnings("unchecked")
        Map<String, Object> c = new LinkedHashMap<>(((List<Map<String, Object>>) pod.get("containers")).get(0));
        c.put("env", List.of(Map.of("name", "MODE", "value", env)));
        List<Map<String, Object>> files = new ArrayList<>();
        files.add(Map.of("path", "/etc/secret", "contentBase64", "", "volume", "/etc/secret"));
        files.addAll(keys);
        files.add(Map.of("path", "/etc/single.conf", "contentBase64", b64(single)));
        c.put("files", files);
        pod.put("containers", List.of(c));
        return pod;
    }

    private Http.Response put(Map<String, Object> pod) {
        return fx.http.put("/v1/tenants/skg00000/workloads/uid-1/spec", tenant, pod);
    }

    private JsonNode desired() {
        return fx.http.get("/v1/hosts/" + host.id() + "/workloads", host.token()).json();
    }

    /** The host's files of the pod's container, path to clear content. */
    private Map<String, String> hostFiles() {
        Map<String, String> out = new LinkedHashMap<>();
        desired().at("/workloads/0/spec/containers/0/files").forEach(f -> out.put(f.get("path").asText(),
                new String(Base64.getDecoder().decode(f.get("contentBase64").asText()), StandardCharsets.UTF_8)));
        return out;
    }

    private String row() throws Exception {
        try (Connection c = fx.database.connect();
             PreparedStatement ps = c.prepareStatement("SELECT w::text, sealed_secrets IS NOT NULL FROM workloads w WHERE pod_uid = 'uid-1'")) {
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getBoolean(2)).as("sealed_secrets holds the files").isTrue();
                return rs.getString(1);
            }
        }
    }

    @Test
    void aSecretVolumesNewFilesReachTheHostSealedAtRestAndTheRestOfThePodStaysAsItStarted() throws Exception {
        long before = desired().get("version").asLong();
        assertThat(put(pod("env-1", List.of(key("token", TOKEN_1)), "single-1")).status()).isEqualTo(200);
        assertThat(desired().get("version").asLong()).as("the files the pod was made with change nothing").isEqualTo(before);
        Http.Response r = put(pod("env-2", List.of(key("token", TOKEN_2), key("extra", "extra-7c2d")), "single-2"));
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        assertThat(hostFiles()).as("the volume's new content and new key; the subPath file as it started")
                .containsExactly(Map.entry("/etc/single.conf", "single-1"), Map.entry("/etc/secret", ""),
                        Map.entry("/etc/secret/token", TOKEN_2), Map.entry("/etc/secret/extra", "extra-7c2d"));
        assertThat(desired().at("/workloads/0/spec/containers/0/env/0/value").asText()).as("env never follows").isEqualTo("env-1");
        long after = desired().get("version").asLong();
        assertThat(after).as("the host is woken").isGreaterThan(before);
        String stored = row();
        for (String secret : List.of(TOKEN_1, TOKEN_2, "extra-7c2d", b64(TOKEN_2), b64("extra-7c2d"), b64(TOKEN_1))) {
            assertThat(stored).as("the stored row, in clear").doesNotContain(secret);
        }

        assertThat(put(pod("env-3", List.of(key("token", TOKEN_2), key("extra", "extra-7c2d")), "single-3")).status()).isEqualTo(200);
        assertThat(desired().get("version").asLong()).as("the same files again change nothing").isEqualTo(after);

        assertThat(put(pod("env-2", List.of(), "single-2")).status()).isEqualTo(200);
        assertThat(hostFiles()).as("every key removed: the volume's directory stays, empty")
                .containsExactly(Map.entry("/etc/single.conf", "single-1"), Map.entry("/etc/secret", ""));
    }

    @Test
    void aNewVolumeOrAnotherFieldIsRefusedAndTheFilesDoNotChangeEither() {
        long before = desired().get("version").asLong();
        Map<String, Object> mounted = pod("env-1", List.of(key("token", TOKEN_2),
                Map.of("path", "/etc/more/x", "contentBase64", b64("x"), "volume", "/etc/more")), "single-1");
        Http.Response r = put(mounted);
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.message()).isEqualTo(SpecUpdates.RULE + "; the volumes container nvidia mounts changed (volumeMounts)");

        Map<String, Object> command = pod("env-1", List.of(key("token", TOKEN_2)), "single-1");
        @SuppressWarnings("unchecked")
        Map<String, Object> c = ((List<Map<String, Object>>) command.get("containers")).get(0);
        c.put("command", List.of("sh", "-c", "id"));
        Http.Response refused = put(command);
        assertThat(refused.status()).isEqualTo(400);
        assertThat(refused.message()).isEqualTo(SpecUpdates.RULE + "; spec.containers[0].command changed");

        Map<String, Object> leaving = pod("env-1", List.of(Map.of("path", "/etc/secret/..data", "contentBase64", b64("x"),
                "volume", "/etc/secret")), "single-1");
        Http.Response bad = put(leaving);
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.message()).contains("key '..data' of volume '/etc/secret' must not start with '..'");

        assertThat(hostFiles()).containsEntry("/etc/secret/token", TOKEN_1);
        assertThat(desired().get("version").asLong()).as("nothing changed").isEqualTo(before);
    }

    @Test
    void aPodSentBeforeVolumesKeepsItsFilesMountedOneByOne() {
        Map<String, Object> legacy = Pods.seedPod("uid-2");
        @SuppressWarnings("unchecked")
        Map<String, Object> c = new LinkedHashMap<>(((List<Map<String, Object>>) legacy.get("containers")).get(0));
        c.put("files", List.of(Map.of("path", "/etc/secret/token", "contentBase64", b64(TOKEN_1))));
        legacy.put("containers", List.of(c));
        assertThat(fx.http.post("/v1/tenants/skg00000/workloads", tenant, legacy).status()).isEqualTo(201);
        long before = desired().get("version").asLong();
        Map<String, Object> now = pod("env-1", List.of(key("token", TOKEN_2)), "single-1");
        now.put("podUid", "uid-2");
        Http.Response r = fx.http.put("/v1/tenants/skg00000/workloads/uid-2/spec", tenant, now);
        assertThat(r.status()).as("the agent may send it: its image may change " + r).isEqualTo(200);
        JsonNode files = fx.http.get("/v1/hosts/" + host.id() + "/workloads", host.token()).json().get("workloads").findValues("spec")
                .stream().filter(s -> s.get("podUid").asText().equals("uid-2")).findFirst().orElseThrow().at("/containers/0/files");
        assertThat(files).hasSize(1);
        assertThat(files.get(0).get("volume")).as("its bind of one file cannot become a directory while it runs").isNull();
        assertThat(desired().get("version").asLong()).isEqualTo(before);
    }
}
