package gpufleet.control.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.common.Json;
import gpufleet.control.ControlApi;
import gpufleet.control.config.SealKey;
import gpufleet.control.support.ApiFixture;
import gpufleet.control.support.ApiFixture.Host;
import gpufleet.control.support.Http;
import gpufleet.control.support.Pods;
import gpufleet.control.support.TestDatabase;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A pod's secrets at rest: sealed in its workload row with the operator's key, opened only in
 * the answer to the host it is placed on, erased when the workload ends, and refused (500,
 * naming the keys) by a control-api that has another key.
 */
class SecretsAtRestIT {
    static final String TAG = UUID.randomUUID().toString().substring(0, 8);
    static final String ENV = "env-s3cret-" + TAG;
    static final String FILE = "file-s3cret-" + TAG;
    static final String FILE_B64 = Base64.getEncoder().encodeToString(FILE.getBytes(StandardCharsets.UTF_8));
    static final String PULL_USER = "robot-" + TAG;
    static final String PULL = "pull-s3cret-" + TAG;
    static final List<String> SECRETS = List.of(ENV, FILE, FILE_B64, PULL_USER, PULL);

    ApiFixture fx;
    Host host;
    String tenant;

    @BeforeEach
    void start() {
        fx = ApiFixture.start();
        fx.seedOfferings();
        host = fx.seedHost("a6000-01");
        tenant = fx.tenant("skg00000", List.of("seeweb-nvidia-1xa6000"));
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    /** The seed's pod with a Secret in its environment, a Secret file and registry credentials. */
    static Map<String, Object> podWithSecrets(String uid) {
        Map<String, Object> container = Pods.container("nvidia", 1, "2", "16Gi");
        container.put("env", List.of(Map.of("name", "API_KEY", "value", ENV), Map.of("name", "MODE", "value", "")));
        container.put("files", List.of(Map.of("path", "/etc/app/token", "mode", 0400, "contentBase64", FILE_B64)));
        Map<String, Object> pod = Pods.pod(uid, "trainer", "seeweb-nvidia-1xa6000", List.of(container));
        pod.put("imagePullSecrets", List.of(Map.of("registry", "127.0.0.1:5000", "username", PULL_USER, "password", PULL)));
        return pod;
    }

    JsonNode create(String uid) {
        Http.Response r = fx.http.post("/v1/tenants/skg00000/workloads", tenant, podWithSecrets(uid));
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
        return r.json();
    }

    /** The workload row as text, every column, as anyone who can read the table sees it. */
    String row(String uid) throws SQLException {
        try (Connection c = fx.database.connect();
             PreparedStatement ps = c.prepareStatement("SELECT w::text FROM workloads w WHERE pod_uid = ?")) {
            ps.setString(1, uid);
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).as("row of pod " + uid).isTrue();
                return rs.getString(1);
            }
        }
    }

    boolean sealedColumnNull(String uid) throws SQLException {
        try (Connection c = fx.database.connect();
             PreparedStatement ps = c.prepareStatement("SELECT sealed_secrets IS NULL FROM workloads WHERE pod_uid = ?")) {
            ps.setString(1, uid);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    /** The whole database as pg_dump writes it: what a backup or a stolen dump holds. */
    String dump() throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder("pg_dump", "--data-only", "--username", TestDatabase.USER,
                "--dbname", fx.database.url().substring("jdbc:".length())).redirectErrorStream(true);
        pb.environment().put("PGPASSWORD", TestDatabase.PASSWORD);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as("pg_dump: " + out).isZero();
        return out;
    }

    JsonNode desiredSpec(Http http, String uid) {
        Http.Response r = http.get("/v1/hosts/" + host.id() + "/workloads", host.token());
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        for (JsonNode w : r.json().get("workloads")) {
            if (w.get("podUid").asText().equals(uid)) {
                return w.get("spec");
            }
        }
        throw new AssertionError("pod " + uid + " is not in its host's workloads: " + r.body());
    }

    static void assertHoldsTheSecrets(JsonNode spec) {
        assertThat(spec.at("/containers/0/env/0/value").asText()).isEqualTo(ENV);
        assertThat(spec.at("/containers/0/files/0/contentBase64").asText()).isEqualTo(FILE_B64);
        assertThat(spec.at("/imagePullSecrets/0/username").asText()).isEqualTo(PULL_USER);
        assertThat(spec.at("/imagePullSecrets/0/password").asText()).isEqualTo(PULL);
    }

    @Test
    void aPodsSecretsAreSealedInItsRowAndInTheDumpAndOpenedForItsHost() throws Exception {
        JsonNode w = create("uid-1");
        assertThat(w.get("hostId").asText()).isEqualTo(host.id());

        String row = row("uid-1");
        assertThat(row).as("the row is found and readable").contains("uid-1", "API_KEY", "/etc/app/token");
        assertThat(SECRETS).as("secret values in the workload row").noneMatch(row::contains);
        assertThat(sealedColumnNull("uid-1")).as("sealed_secrets is empty").isFalse();
        String dump = dump();
        assertThat(dump).as("the dump holds the workload").contains("uid-1", "API_KEY");
        assertThat(SECRETS).as("secret values in pg_dump's output").noneMatch(dump::contains);

        assertHoldsTheSecrets(desiredSpec(fx.http, "uid-1"));
        // Only the answer to the host carries them: the tenant's own view of its workload does not.
        String view = fx.http.get("/v1/tenants/skg00000/workloads/uid-1", tenant).body();
        assertThat(SECRETS).noneMatch(view::contains);
    }

    @Test
    void aDeletedWorkloadKeepsNoSecrets() throws Exception {
        String id = create("uid-2").get("id").asText();
        assertThat(fx.http.delete("/v1/tenants/skg00000/workloads/uid-2", tenant).status()).isEqualTo(202);
        // Until the host has stopped it, the host still needs them.
        assertHoldsTheSecrets(desiredSpec(fx.http, "uid-2"));
        Http.Response gone = fx.http.put("/v1/hosts/" + host.id() + "/workloads/" + id + "/status", host.token(),
                Map.of("generation", 1, "gone", true));
        assertThat(gone.status()).as(gone.toString()).isEqualTo(200);
        assertThat(fx.http.get("/v1/tenants/skg00000/workloads/uid-2", tenant).json().get("phase").asText()).isEqualTo("deleted");
        assertThat(sealedColumnNull("uid-2")).as("sealed_secrets after the workload ended").isTrue();
        assertThat(SECRETS).noneMatch(row("uid-2")::contains);
    }

    @Test
    void aWorkloadWhoseHostIsLostKeepsNoSecrets() throws Exception {
        create("uid-3");
        fx.backdateHeartbeat(host, Duration.ofHours(1));
        await().atMost(Duration.ofSeconds(60)).until(() ->
                fx.http.get("/v1/tenants/skg00000/workloads/uid-3", tenant).json().path("reason").asText().equals("HostLost"));
        assertThat(sealedColumnNull("uid-3")).as("sealed_secrets after its host was lost").isTrue();
    }

    @Test
    void aControlApiWithAnotherKeyRefusesToOpenThemAndTheOldKeyOpensThemAfterARotation() throws Exception {
        create("uid-4");
        SealKey ours = SealKey.read(ApiFixture.SEAL_KEY_FILE, null);
        Path otherFile = ApiFixture.newSealKeyFile();
        SealKey other = SealKey.read(otherFile, null);
        try (ControlApi wrong = fx.startReplica(Map.of(SealKey.FILE_VARIABLE, otherFile.toString()))) {
            Http.Response r = new Http(wrong.port()).get("/v1/hosts/" + host.id() + "/workloads", host.token());
            assertThat(r.status()).as(r.toString()).isEqualTo(500);
            assertThat(r.message()).isEqualTo("sealed value for " + SpecSecrets.context("skg00000", "uid-4")
                    + " was sealed with key " + ours.keyId() + ", which is neither the current key (" + other.keyId()
                    + ", GPUFLEET_SEAL_KEY_FILE): start the control-api with the key that sealed it;"
                    + " the operator must fix the control-api's sealing key");
            assertThat(SECRETS).noneMatch(r.body()::contains);
        }
        try (ControlApi rotated = fx.startReplica(Map.of(SealKey.FILE_VARIABLE, otherFile.toString(),
                SealKey.OLD_FILE_VARIABLE, ApiFixture.SEAL_KEY_FILE.toString()))) {
            assertHoldsTheSecrets(desiredSpec(new Http(rotated.port()), "uid-4"));
        }
    }

    @Test
    void secretsStoredInClearBeforeSealingAreSealedAtStart() throws Exception {
        create("uid-5");
        String clear = Json.mapper().writeValueAsString(desiredSpec(fx.http, "uid-5"));
        // The row as a control-api from before migration V15 left it: secrets in clear in spec.
        try (Connection c = fx.database.connect();
             PreparedStatement ps = c.prepareStatement(
                     "UPDATE workloads SET spec = ?::jsonb, sealed_secrets = NULL, secrets_sealed = false WHERE pod_uid = 'uid-5'")) {
            ps.setString(1, clear);
            assertThat(ps.executeUpdate()).isEqualTo(1);
        }
        assertThat(row("uid-5")).contains(ENV);
        assertThat(LegacySecrets.sealAll(fx.api.database(), SealKey.read(ApiFixture.SEAL_KEY_FILE, null))).isEqualTo(1);
        assertThat(SECRETS).noneMatch(row("uid-5")::contains);
        assertHoldsTheSecrets(desiredSpec(fx.http, "uid-5"));
        assertThat(LegacySecrets.sealAll(fx.api.database(), SealKey.read(ApiFixture.SEAL_KEY_FILE, null)))
                .as("each row is done once").isZero();
    }
}
