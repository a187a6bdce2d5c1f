package gpufleet.control.support;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import gpufleet.common.api.InventoryReport;
import gpufleet.control.ControlApi;
import gpufleet.control.config.ControlApiConfig;
import gpufleet.control.config.SealKey;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** A real control-api on a fresh real PostgreSQL database, with helpers that speak its API. */
public final class ApiFixture implements AutoCloseable {
    public static final String OPERATOR = "gfo_test-operator-token-0123456789abcdef";
    /** One sealing key for every control-api of this test run, so replicas open what each other sealed. */
    public static final Path SEAL_KEY_FILE = newSealKeyFile();

    public final TestDatabase database;
    public final ControlApi api;
    public final Http http;

    private ApiFixture(TestDatabase database, ControlApi api) {
        this.database = database;
        this.api = api;
        this.http = new Http(api.port());
    }

    public static ApiFixture start() {
        return start(Map.of());
    }

    public static ApiFixture start(Map<String, String> overrides) {
        TestDatabase db = TestDatabase.create();
        return new ApiFixture(db, ControlApi.start(config(db, overrides)));
    }

    /** A second control-api on the same database, as another replica would be. */
    public ControlApi startReplica(Map<String, String> overrides) {
        return ControlApi.start(config(database, overrides));
    }

    public static ControlApiConfig config(TestDatabase db, Map<String, String> overrides) {
        Map<String, String> values = new HashMap<>(ControlApiConfig.DEFAULTS);
        values.put("GPUFLEET_DB_URL", db.url());
        values.put("GPUFLEET_DB_USER", TestDatabase.USER);
        values.put("GPUFLEET_DB_PASSWORD", TestDatabase.PASSWORD);
        values.put("GPUFLEET_DB_POOL_SIZE", "4");
        values.put("GPUFLEET_LISTEN", "127.0.0.1:0");
        values.put("GPUFLEET_METRICS_LISTEN", "127.0.0.1:0");
        values.put("GPUFLEET_OPERATOR_TOKEN", OPERATOR);
        values.put(SealKey.FILE_VARIABLE, SEAL_KEY_FILE.toString());
        values.put("GPUFLEET_LIVENESS_INTERVAL", "200ms");
        // Seeded hosts heartbeat once. A grace no test class outlasts, even on a loaded machine, keeps
        // them ready; tests about liveness backdate heartbeats (backdateHeartbeat) or set their own.
        values.put("GPUFLEET_HEARTBEAT_GRACE", "10m");
        values.put("GPUFLEET_LOST_AFTER", "20m");
        values.put("GPUFLEET_PLACEMENT_RETRY", "200ms");
        values.putAll(overrides);
        return ControlApiConfig.from(values);
    }

    /** A new key file, removed when the test JVM ends. */
    public static Path newSealKeyFile() {
        try {
            Path file = Files.createTempFile("gpufleet-seal", ".key");
            file.toFile().deleteOnExit();
            return SealKey.writeNew(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot make a sealing key file", e);
        }
    }

    public String joinToken() {
        Http.Response r = http.post("/v1/join-tokens", OPERATOR, Map.of("description", "test", "ttl", "1h"));
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
        return r.json().get("token").asText();
    }

    /** A registered host: its id and its own token. */
    public record Host(String id, String name, String token) {}

    public Host register(String name) {
        Http.Response r = http.post("/v1/hosts/register", joinToken(), Map.of("name", name));
        assertThat(r.status()).as(r.toString()).isIn(200, 201);
        JsonNode j = r.json();
        return new Host(j.get("hostId").asText(), name, j.get("token").asText());
    }

    public void heartbeat(Host h) {
        Http.Response r = http.post("/v1/hosts/" + h.id() + "/heartbeat", h.token(), null);
        assertThat(r.status()).as(r.toString()).isEqualTo(204);
    }

    /**
     * Moves the host's last recorded heartbeat {@code by} into the past, as if that much time had
     * passed without one: liveness tests drive time this way instead of sleeping through a grace.
     */
    public void backdateHeartbeat(Host h, Duration by) {
        try (Connection c = database.connect();
             PreparedStatement ps = c.prepareStatement(
                     "UPDATE host_heartbeats SET seen_at = seen_at - make_interval(secs => ?) WHERE host_id = ?::uuid")) {
            ps.setDouble(1, by.toMillis() / 1000.0);
            ps.setString(2, h.id());
            assertThat(ps.executeUpdate()).as("heartbeat row of host " + h.name()).isEqualTo(1);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot backdate the heartbeat of host " + h.name(), e);
        }
    }

    public JsonNode report(Host h, InventoryReport report) {
        Http.Response r = http.put("/v1/hosts/" + h.id() + "/inventory", h.token(), report);
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        return r.json();
    }

    /** A host that registered, heartbeated (ready) and reported the seed's 8 x A6000 pool. */
    public Host seedHost(String name) {
        Host h = register(name);
        heartbeat(h);
        report(h, Inventories.seedPool(name, 1));
        return h;
    }

    public void offering(String name, String model, int gpus, String cpu, String memory) {
        Http.Response r = http.post("/v1/offerings", OPERATOR,
                Map.of("name", name, "gpuModel", model, "gpuCount", gpus, "cpu", cpu, "memory", memory));
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
    }

    /** The seed's offerings: seeweb-nvidia-1xa6000, -2xa6000 and -1xa100. */
    public void seedOfferings() {
        offering("seeweb-nvidia-1xa6000", Inventories.A6000, 1, "8000m", "32861620Ki");
        offering("seeweb-nvidia-2xa6000", Inventories.A6000, 2, "16000m", "65723240Ki");
        offering("seeweb-nvidia-1xa100", Inventories.A100, 1, "8000m", "32861620Ki");
    }

    /** Creates a tenant with these offerings and returns a token for it. */
    public String tenant(String name, List<String> offerings) {
        Http.Response r = http.post("/v1/tenants", OPERATOR, Map.of("name", name, "offerings", offerings));
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
        Http.Response t = http.post("/v1/tenants/" + name + "/tokens", OPERATOR, Map.of("description", "agent"));
        assertThat(t.status()).as(t.toString()).isEqualTo(201);
        return t.json().get("token").asText();
    }

    @Override
    public void close() {
        api.close();
        database.close();
    }
}
